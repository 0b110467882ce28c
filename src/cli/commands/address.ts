import { type Command, Option } from "commander";
import { addressError, addressToPublicKey, publicKeyToAddress } from "../../nano/account.js";
import { bytesToHex, hexToBytes } from "../../nano/hex.js";
import { action, printJson } from "../output.js";

function check(address: string, opts: { json?: boolean }): void {
  const error = addressError(address);
  if (opts.json) {
    printJson(
      error
        ? { valid: false, error }
        : { valid: true, public_key: bytesToHex(addressToPublicKey(address)).toUpperCase() },
    );
  } else if (error) {
    process.stderr.write(`invalid: ${error}\n`);
  } else {
    process.stdout.write(`valid (public key ${bytesToHex(addressToPublicKey(address)).toUpperCase()})\n`);
  }
  if (error) process.exitCode = 1;
}

function fromKey(key: string, opts: { prefix: "nano" | "xrb"; json?: boolean }): void {
  const address = publicKeyToAddress(hexToBytes(key, 32, "public key"), opts.prefix);
  if (opts.json) printJson({ address });
  else process.stdout.write(`${address}\n`);
}

export function registerAddress(program: Command): void {
  const address = program.command("address").description("check and derive Nano account addresses");
  address
    .command("check")
    .description("exit 0 if ADDRESS is a valid nano_/xrb_ address, else 1 with the reason")
    .argument("<address>", "nano_... or xrb_... address")
    .option("--json", "print {valid, public_key | error}")
    .action(action(check));
  address
    .command("from-key")
    .description("the address of a 64-hex-digit public key")
    .argument("<public-key>", "public key, 64 hex digits")
    .addOption(new Option("--prefix <prefix>", "address prefix").choices(["nano", "xrb"]).default("nano"))
    .option("--json", "print {address}")
    .action(action(fromKey));
}
