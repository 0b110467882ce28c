/**
 * A PostgreSQL the operator can fix (not running, unknown role, unknown database) is one line
 * naming --postgres from the real CLI, never a stack trace.
 */
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { serverArgs, tempDir } from "../helpers/hub-process.js";
import { freePort } from "../helpers/ports.js";
import { serviceAvailable } from "../helpers/services.js";

const temp = tempDir();
const available = await serviceAvailable("postgres");

afterAll(() => temp.remove());

/** `dpow server --postgres URL`: its exit status and what it printed. */
function serve(url: string) {
  const result = runCli(serverArgs(join(temp.dir, "unused.db"), ["--postgres", url]));
  return { status: result.status, stderr: result.stderr };
}

describe("dpow server --postgres refused", () => {
  it("is one line when nothing listens", async () => {
    const port = await freePort();
    expect(serve(`postgres://dpow:secret@127.0.0.1:${port}/dpow`)).toEqual({
      status: 2,
      stderr: expect.stringMatching(
        /^dpow: cannot use PostgreSQL at postgres:\/\/dpow:\*\*\*@127\.0\.0\.1:\d+\/dpow \(.*\); start it or fix --postgres\n$/,
      ),
    });
  });

  it.runIf(available)("is the same one line for an unknown role or database", () => {
    expect(serve("postgres://x@127.0.0.1:5432/test")).toEqual({
      status: 2,
      stderr:
        'dpow: cannot use PostgreSQL at postgres://x@127.0.0.1:5432/test (role "x" does not exist); start it or fix --postgres\n',
    });
    expect(serve("postgres://127.0.0.1:5432/no_such_database_here")).toEqual({
      status: 2,
      stderr: expect.stringMatching(
        /^dpow: cannot use PostgreSQL at postgres:\/\/127\.0\.0\.1:5432\/no_such_database_here \(.+\); start it or fix --postgres\n$/,
      ),
    });
  });
});
