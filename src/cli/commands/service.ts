import type { Command } from "commander";
import { openLedger } from "../../hub/ledger/open.js";
import type { Ledger, ServiceRecord, ServiceSettings } from "../../hub/ports.js";
import { addService, rotateServiceKey, updateService } from "../../hub/service-admin.js";
import { ledgerOptions } from "../ledger-flags.js";
import { action, printJson, UsageError } from "../output.js";
import { checkUrlFlag } from "../url-flags.js";

interface DbOption {
  db: string;
  postgres?: string;
  json?: boolean;
}

interface SettingOptions extends DbOption {
  public?: boolean;
  private?: boolean;
  display?: string;
  website?: string;
  rate?: string;
  burst?: string;
}

/** Opens the ledger, runs `task`, closes it (a ledger refusal is a coded error: one line, exit 2). */
async function withLedger<T>(opts: DbOption, task: (ledger: Ledger) => Promise<T>): Promise<T> {
  checkUrlFlag("--postgres", opts.postgres);
  const ledger = await openLedger({ db: opts.db, postgresUrl: opts.postgres });
  try {
    return await task(ledger);
  } finally {
    await ledger.close();
  }
}

function number(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value))
    throw new UsageError(`${flag} must be a number, got "${text}"`);
  return value;
}

function settingsFrom(opts: SettingOptions): Partial<ServiceSettings> {
  if (opts.public && opts.private) throw new UsageError("give --public or --private, not both");
  const settings: Partial<ServiceSettings> = {
    public: opts.public ? true : opts.private ? false : undefined,
    display: opts.display,
    website: opts.website,
    rate: number(opts.rate, "--rate"),
    burst: number(opts.burst, "--burst"),
  };
  return Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined));
}

/** What the operator sees of a service (never the key hash). */
function view(service: ServiceRecord) {
  return {
    user: service.name,
    public: service.public,
    display: service.display,
    website: service.website,
    rate: service.rate,
    burst: service.burst,
    precache: service.precache,
    ondemand: service.ondemand,
    created: new Date(service.createdAt).toISOString(),
  };
}

function printService(service: ServiceRecord): void {
  const v = view(service);
  const limit = v.rate === 0 ? "unlimited" : `${v.rate}/s, burst ${v.burst}`;
  const lines = [
    `service   ${v.user} (${v.public ? "public" : "private"})`,
    `display   ${v.display || "-"}`,
    `website   ${v.website || "-"}`,
    `limit     ${limit}`,
    `served    ${v.precache} precache, ${v.ondemand} on demand`,
    `created   ${v.created}`,
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
}

function printKey(user: string, apiKey: string, json: boolean | undefined, what: string): void {
  if (json) printJson({ user, api_key: apiKey });
  else {
    process.stdout.write(
      `${what} "${user}". Its API key (shown only now; store it safely):\n${apiKey}\n` +
        `Request work with: {"user": "${user}", "api_key": "${apiKey}", "hash": "..."}\n`,
    );
  }
}

async function requireService(ledger: Ledger, name: string): Promise<ServiceRecord> {
  const service = await ledger.service(name);
  if (!service) throw new UsageError(`no service named "${name}" (see dpow service list)`);
  return service;
}

function settingFlags(command: Command): Command {
  return command
    .option("--public", "list the service by name in public statistics")
    .option("--display <text>", "name shown in public statistics")
    .option("--website <url>", "website shown in public statistics")
    .option("--rate <n>", "requests per second allowed (0 = unlimited)")
    .option("--burst <n>", "requests allowed at once above the rate");
}

export function registerService(program: Command): void {
  const service = program
    .command("service")
    .description("manage the services allowed to request work (works while the server runs)");

  settingFlags(
    ledgerOptions(service.command("add <name>").description("register a service and print its API key")),
  )
    .option("--json", 'print {"user", "api_key"}')
    .action(
      action(async (name: string, opts: SettingOptions) => {
        const { service: added, apiKey } = await withLedger(opts, (l) =>
          addService(l, name, settingsFrom(opts)),
        );
        printKey(added.name, apiKey, opts.json, "Added service");
      }),
    );

  ledgerOptions(service.command("list").description("list services"))
    .option("--json", "print a JSON array")
    .action(
      action(async (opts: DbOption) => {
        const services = await withLedger(opts, (l) => l.services());
        if (opts.json) return printJson(services.map(view));
        if (services.length === 0) {
          process.stdout.write("no services yet; add one with: dpow service add NAME\n");
          return;
        }
        for (const s of services) {
          const limit = s.rate === 0 ? "unlimited" : `${s.rate}/s`;
          process.stdout.write(
            `${s.name}\t${s.public ? "public" : "private"}\t${limit}\t${s.precache} precache\t${s.ondemand} on demand\n`,
          );
        }
      }),
    );

  ledgerOptions(service.command("show <name>").description("show one service"))
    .option("--json", "print JSON")
    .action(
      action(async (name: string, opts: DbOption) => {
        const found = await withLedger(opts, (l) => requireService(l, name));
        if (opts.json) printJson(view(found));
        else printService(found);
      }),
    );

  settingFlags(ledgerOptions(service.command("update <name>").description("change a service's settings")))
    .option("--private", "stop listing the service by name in public statistics")
    .option("--json", "print the updated service as JSON")
    .action(
      action(async (name: string, opts: SettingOptions) => {
        const changes = settingsFrom(opts);
        if (Object.keys(changes).length === 0) {
          throw new UsageError(
            "nothing to change: give --public/--private, --display, --website, --rate or --burst",
          );
        }
        const updated = await withLedger(opts, (l) => updateService(l, name, changes));
        if (opts.json) printJson(view(updated));
        else printService(updated);
      }),
    );

  ledgerOptions(service.command("delete <name>").description("remove a service; its key stops working"))
    .option("--json", 'print {"deleted": true}')
    .action(
      action(async (name: string, opts: DbOption) => {
        const deleted = await withLedger(opts, (l) => l.deleteService(name));
        if (!deleted) throw new UsageError(`no service named "${name}" (see dpow service list)`);
        if (opts.json) printJson({ deleted: true });
        else process.stdout.write(`deleted service "${name}"\n`);
      }),
    );

  ledgerOptions(
    service
      .command("rotate-key <name>")
      .description("give a service a new API key (the old one stops working)"),
  )
    .option("--json", 'print {"user", "api_key"}')
    .action(
      action(async (name: string, opts: DbOption) => {
        const apiKey = await withLedger(opts, (l) => rotateServiceKey(l, name));
        printKey(name, apiKey, opts.json, "New key for service");
      }),
    );

  ledgerOptions(
    service.command("stats [name]").description("work served: one service, or the hub's statistics"),
  )
    .option("--json", "print JSON")
    .action(
      action(async (name: string | undefined, opts: DbOption) => {
        if (name !== undefined) {
          const found = await withLedger(opts, (l) => requireService(l, name));
          if (opts.json)
            return printJson({ user: found.name, precache: found.precache, ondemand: found.ondemand });
          process.stdout.write(`${found.name}: ${found.precache} precache, ${found.ondemand} on demand\n`);
          return;
        }
        const stats = await withLedger(opts, (l) => l.statistics());
        if (opts.json) return printJson(stats);
        const { work, services } = stats;
        process.stdout.write(
          `work credited to workers: ${work.precache} precache, ${work.ondemand} on demand\n` +
            `private services: ${services.private.count} (${services.private.precache} precache, ${services.private.ondemand} on demand)\n`,
        );
        for (const s of services.public) {
          process.stdout.write(`public ${s.display}: ${s.precache} precache, ${s.ondemand} on demand\n`);
        }
      }),
    );
}
