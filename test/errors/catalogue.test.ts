import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/cli/output.js";
import { CATALOGUE, CodedError, type ErrorCode } from "../../src/errors.js";
import { StoreUnreachableError } from "../../src/hub/ports.js";
import { NanoInputError } from "../../src/nano/errors.js";
import { InsufficientBalanceError } from "../../src/payouts/payer.js";
import { RemoteWorkError, RpcTimeoutError } from "../../src/pow/rpc-backend.js";
import { errors, ORIGINAL } from "../../src/protocol/service.js";

const codes = Object.keys(CATALOGUE) as ErrorCode[];
const beginnings = (code: ErrorCode): readonly string[] =>
  (CATALOGUE[code] as { begins?: readonly string[] }).begins ?? [];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return path.endsWith(".ts") ? [path] : [];
  });
}

describe("the error catalogue", () => {
  it("gives every code an exit code the CLI documents, and API codes a REST status", () => {
    for (const code of codes) {
      const spec = CATALOGUE[code] as { exit: number; api?: { status: number } };
      expect([1, 2], code).toContain(spec.exit);
      if (spec.api) expect(spec.api.status, code).toBeGreaterThanOrEqual(400);
    }
  });

  it("keeps the original DPoW's texts (byte for byte) and the hub's own as answers some code begins", () => {
    // The original's texts are what clients match on; the catalogue must name a code for each.
    expect(ORIGINAL).toEqual({
      incomplete: "Incorrect submission. Required information: user, api_key, hash",
      credentials: "Invalid credentials",
      hash: "Invalid hash",
      account: "Invalid account",
      difficulty: "Invalid difficulty",
      multiplier: "Multiplier must be a float",
      tooHigh: "Difficulty too high",
      tooLow: "Difficulty too low",
      timeout: "Timeout must be an integer between 1 and 30",
      notJson: "Bad request (not json)",
      timedOut: "Timeout reached without work",
    });
    for (const text of [...Object.values(ORIGINAL), ...Object.values(errors)]) {
      const owners = codes.filter((code) => beginnings(code).some((b) => text.startsWith(b)));
      expect(owners, text).not.toEqual([]);
    }
  });

  it("maps each error class to its code and its code's exit code", () => {
    expect(new UsageError("x").exitCode).toBe(2);
    expect(new NanoInputError("x").exitCode).toBe(1);
    expect(new StoreUnreachableError("x").code).toBe("DPOW_STORE_UNREACHABLE");
    expect(new InsufficientBalanceError("x").code).toBe("DPOW_INSUFFICIENT_BALANCE");
    expect(new RemoteWorkError("x").code).toBe("DPOW_WORK_SERVER_FAILED");
    expect(new RpcTimeoutError("x").code).toBe("DPOW_WORK_SERVER_TIMEOUT");
    expect(new CodedError("DPOW_PORT_TAKEN", "x").exitCode).toBe(CATALOGUE.DPOW_PORT_TAKEN.exit);
  });

  it("is the only base of the project's errors: no class in src/ extends Error directly", () => {
    // The client library's errors (src/client/errors.ts) are its own public API, with its own codes.
    const offenders = sourceFiles("src")
      .filter((file) => file !== join("src", "errors.ts") && !file.startsWith(join("src", "client")))
      .filter((file) => /class \w+ extends (Error|RangeError|TypeError)\b/.test(readFileSync(file, "utf8")));
    expect(offenders).toEqual([]);
  });
});

describe("the error codes' documentation", () => {
  const readme = readFileSync("README.md", "utf8");
  const doc = readFileSync("docs/errors.md", "utf8");

  it("lists every code, with its exit code, answer and meaning, in the README's table and in docs/errors.md", () => {
    const row = (text: string, code: ErrorCode) =>
      text.split("\n").find((l) => l.startsWith(`| \`${code}\` |`));
    for (const code of codes) {
      const spec = CATALOGUE[code] as {
        means: string;
        exit: number;
        api?: { outcome: string; status: number };
      };
      const api = spec.api ? `\`${spec.api.outcome}\`, ${spec.api.status}` : "";
      for (const line of [row(readme, code), row(doc, code)]) {
        expect(line, code).toMatch(
          new RegExp(`^\\| \`${code}\` \\| ${spec.exit} \\| ${api.replace(/[()]/g, "\\$&")} \\|`),
        );
        expect(line, code).toContain(`| ${spec.means} |`);
      }
      for (const text of beginnings(code)) expect(row(doc, code), code).toContain(`\`${text}\``);
    }
  });

  it("lists no code the catalogue does not have", () => {
    const documented = (text: string) => [...text.matchAll(/^\| `(DPOW_[A-Z_]+)` \|/gm)].map((m) => m[1]);
    for (const code of [...documented(readme), ...documented(doc)]) expect(codes).toContain(code);
  });
});
