/**
 * The documentation keeps up with the code: every metric outcome and error code is listed in the
 * README and in docs/, every docs/ page is linked, every relative link resolves, and no comment
 * cites a design document a clone of this repository does not have.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { CATALOGUE } from "../../src/errors.js";
import { REQUEST_OUTCOMES, RESULT_OUTCOMES } from "../../src/hub/metrics.js";

const readme = readFileSync("README.md", "utf8");
const pages = readdirSync("docs").filter((name) => name.endsWith(".md"));
const docs = (name: string) => readFileSync(join("docs", name), "utf8");

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === "fixtures" ? [] : files(path);
    return /\.(ts|acl|conf)$/.test(entry.name) ? [path] : [];
  });
}

describe("the documentation", () => {
  it("lists every request and result outcome in the README and in docs/metrics.md", () => {
    const table = docs("metrics.md");
    for (const outcome of [...REQUEST_OUTCOMES, ...RESULT_OUTCOMES]) {
      expect(readme, outcome).toContain(`\`${outcome}\``);
      expect(table, outcome).toMatch(new RegExp(`^\\| \`${outcome}\` \\|`, "m"));
    }
  });

  it("lists every error code in the README and in docs/errors.md", () => {
    for (const code of Object.keys(CATALOGUE)) {
      expect(readme, code).toContain(`\`${code}\``);
      expect(docs("errors.md"), code).toContain(`\`${code}\``);
    }
  });

  it("links every docs/ page from the README and from docs/README.md", () => {
    expect(pages.length).toBeGreaterThanOrEqual(7);
    for (const page of pages.filter((p) => p !== "README.md")) {
      expect(readme, page).toContain(`(docs/${page})`);
      expect(docs("README.md"), page).toContain(`(${page})`);
    }
  });

  it("has no relative link to a file that does not exist", () => {
    const sources = [["README.md", readme], ...pages.map((p) => [join("docs", p), docs(p)])];
    for (const [path, text] of sources as [string, string][]) {
      for (const [, target] of text.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
        if (target === undefined || /^[a-z]+:/.test(target)) continue;
        expect(existsSync(join(dirname(path), target)), `${path} -> ${target}`).toBe(true);
      }
    }
  });

  it("is what comments cite: none points at a design document outside the repository", () => {
    const citing = [...files("src"), ...files("test"), ...files("deploy")].filter((file) =>
      /\bDESIGN \d/.test(readFileSync(file, "utf8")),
    );
    expect(citing).toEqual([]);
  });
});
