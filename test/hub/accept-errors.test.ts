import { execFileSync } from "node:child_process";
import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { surviveAcceptErrors } from "../../src/hub/accept-errors.js";
import { defaultMaxConnections } from "../../src/hub/broker/connection-limits.js";
import { openFileLimit } from "../../src/hub/open-file-limit.js";

describe("descriptor reserve", () => {
  it("keeps a tenth of the open-file limit (at least 256, at most half) from MQTT", () => {
    expect(defaultMaxConnections(20_000)).toBe(18_000);
    expect(defaultMaxConnections(1024)).toBe(768);
    expect(defaultMaxConnections(400)).toBe(200);
    expect(defaultMaxConnections(null)).toBe(0);
  });

  it("reads this process's open-file limit, as a shell it starts sees it", () => {
    const shell = execFileSync("/bin/sh", ["-c", "ulimit -n"], { encoding: "utf8" }).trim();
    expect(openFileLimit()).toBe(shell === "unlimited" ? null : Number(shell));
  });

  it("a flood of accept errors neither ends the process nor floods the log", async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const lines: object[] = [];
    surviveAcceptErrors(server, "test listener", { warn: (obj) => lines.push(obj) });
    const emfile = Object.assign(new Error("accept EMFILE"), { code: "EMFILE", syscall: "accept" });
    for (let i = 0; i < 1000; i++) server.emit("error", emfile);
    expect(lines).toEqual([{ listener: "test listener", code: "EMFILE", errors: 1 }]);
    expect(server.listening).toBe(true);
    await new Promise((resolve) => server.close(resolve));
  });
});
