import { readFileSync } from "node:fs";
import { Command } from "commander";
import { CATALOGUE } from "../errors.js";
import { registerAddress } from "./commands/address.js";
import { registerBench } from "./commands/bench.js";
import { registerPayouts } from "./commands/payouts.js";
import { registerRequest } from "./commands/request.js";
import { registerServer } from "./commands/server.js";
import { registerService } from "./commands/service.js";
import { registerStart } from "./commands/start.js";
import { registerWork } from "./commands/work.js";
import { registerWorkServer } from "./commands/work-server.js";
import { registerWorker } from "./commands/worker.js";

const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
  version: string;
};

const program = new Command("dpow")
  .description("nano-dpow: distributed proof of work for Nano (hub, worker, work server, tools)")
  .version(pkg.version, "-v, --version")
  .showHelpAfterError("(run with --help for usage)")
  .configureOutput({ outputError: (text, write) => write(`dpow: ${text.replace(/^error: /, "")}`) })
  // Commander's own refusals (an unknown option, a missing argument) are bad usage too: the
  // catalogue's exit code, as for every UsageError; --help and --version still end with 0.
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : CATALOGUE.DPOW_USAGE.exit));

registerWork(program);
registerWorkServer(program);
registerBench(program);
registerAddress(program);
registerPayouts(program);
registerRequest(program);
registerServer(program);
registerService(program);
registerStart(program);
registerWorker(program);

await program.parseAsync(process.argv);
