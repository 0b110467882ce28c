import { existsSync } from "node:fs";

/**
 * A module to run in a worker thread: `name` beside the module at `from` (an import.meta.url) in
 * dist/, or, when `from` is a TypeScript source (the tests run sources), its compiled twin in
 * dist/`folder` (a thread cannot load TypeScript).
 */
export function threadModuleUrl(from: string, name: string, folder: string): URL {
  const here = new URL(`./${name}`, from);
  if (!from.endsWith(".ts")) return here;
  const built = new URL(`../../dist/${folder}/${name}`, from);
  if (!existsSync(built))
    throw new Error(`a thread runs dist/${folder}/${name}: run \`npm run build\` first`);
  return built;
}
