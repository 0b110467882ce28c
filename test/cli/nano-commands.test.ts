import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";

const HASH = "718CC2121C3E641059BC1C2CFC45666C99E8AE922F7A807B7D07B62C995D79E2";
const WORK = "2bf29ef00786a6bc";
const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));

/** `dpow work validate --hash HASH --work WORK ...options`. */
const validate = (hash: string, work: string, ...options: string[]) =>
  runCli(["work", "validate", "--hash", hash, "--work", work, ...options]);

describe("dpow work validate", () => {
  it("reports the node's work_validate fields", () => {
    const r = validate(HASH, WORK, "--json");
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      valid_all: "0",
      valid_receive: "1",
      difficulty: "ffffffd21c3933f4",
      multiplier: "0.17433086091718653",
    });
  });

  it("adds valid for a given difficulty or multiplier and exits 1 when not met", () => {
    const ok = validate(HASH.toLowerCase(), WORK.toUpperCase(), "--difficulty", "ffffffd21c3933f4", "--json");
    expect(ok.status).toBe(0);
    expect(JSON.parse(ok.stdout).valid).toBe("1");
    const hard = validate(HASH, WORK, "--multiplier", "1");
    expect(hard.status).toBe(1);
    expect(hard.stdout).toMatch(/valid at fffffff800000000: no/);
  });

  it("refuses malformed hex with one clear line", () => {
    const r = validate(HASH.slice(1), WORK);
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe(
      `dpow: --hash must be exactly 64 hex digits (0-9, a-f), got "${HASH.slice(1)}"`,
    );
    const both = validate(HASH, WORK, "--multiplier", "1", "--difficulty", "ffffffd21c3933f4");
    expect(both.status).toBe(2);
    expect(both.stderr).toMatch(/not both/);
  });
});

describe("dpow address", () => {
  it("checks addresses: exit 0 valid, 1 invalid with the reason", () => {
    const good = runCli([
      "address",
      "check",
      "nano_3zy9hhfrb48a6rawcqxfe5wbkpeh4qt63yrxkkj6o9ybci9ur51yyecncjuz",
    ]);
    expect(good.status).toBe(0);
    expect(good.stdout).toMatch(/FFC77BDB8488C82611C55FAD60F899598F15F440FB1D94A24A9FC9540FBC0C1E/);
    const bad = runCli([
      "address",
      "check",
      "nano_3zy9hhfrb48a6rawcqxfe5wbkpeh4qt63yrxkkj6o9ybci9ur51yyecncjua",
    ]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/checksum does not match/);
  });

  it("derives an address from a public key", () => {
    const r = runCli([
      "address",
      "from-key",
      "FFC77BDB8488C82611C55FAD60F899598F15F440FB1D94A24A9FC9540FBC0C1E",
      "--json",
    ]);
    expect(JSON.parse(r.stdout)).toEqual({
      address: "nano_3zy9hhfrb48a6rawcqxfe5wbkpeh4qt63yrxkkj6o9ybci9ur51yyecncjuz",
    });
    expect(runCli(["address", "from-key", "xyz"]).stderr).toMatch(/public key must be exactly 64 hex digits/);
  });
});

describe("dpow", () => {
  it("has --help and --version", () => {
    expect(runCli(["--help"]).stdout).toMatch(/Usage: dpow/);
    expect(runCli(["--version"]).stdout.trim()).toBe(pkg.version);
    const unknown = runCli(["frobnicate"]);
    expect(unknown.status).not.toBe(0);
    expect(unknown.stderr).toMatch(/unknown command/);
  });
});
