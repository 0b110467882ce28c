import { generateApiKey, hashApiKey } from "./api-keys.js";
import { type Ledger, LedgerError, type ServiceRecord, type ServiceSettings } from "./ports.js";

/** Defaults for a new service: generous for one app, a wall against a runaway loop. */
const DEFAULT_SERVICE_SETTINGS: ServiceSettings = {
  public: false,
  display: "",
  website: "",
  rate: 100,
  burst: 200,
};

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** Operator actions on services (what `dpow service` does), on any ledger. */
export async function addService(
  ledger: Ledger,
  name: string,
  settings: Partial<ServiceSettings>,
): Promise<{ service: ServiceRecord; apiKey: string }> {
  if (!NAME.test(name)) {
    throw new LedgerError(`service name must be 1 to 64 letters, digits, "_", "." or "-", got "${name}"`);
  }
  checkSettings(settings);
  const apiKey = generateApiKey();
  const service = await ledger.addService(name, hashApiKey(apiKey), {
    ...DEFAULT_SERVICE_SETTINGS,
    ...settings,
  });
  return { service, apiKey };
}

export async function updateService(
  ledger: Ledger,
  name: string,
  changes: Partial<ServiceSettings>,
): Promise<ServiceRecord> {
  checkSettings(changes);
  return ledger.updateService(name, changes);
}

/** A new key for the service; the old one stops working (within seconds on a running hub). */
export async function rotateServiceKey(ledger: Ledger, name: string): Promise<string> {
  const apiKey = generateApiKey();
  if (!(await ledger.setServiceKey(name, hashApiKey(apiKey))))
    throw new LedgerError(`no service named "${name}"`);
  return apiKey;
}

function checkSettings(settings: Partial<ServiceSettings>): void {
  const { rate, burst } = settings;
  if (rate !== undefined && !(Number.isFinite(rate) && rate >= 0)) {
    throw new LedgerError(`rate must be a number of requests per second >= 0 (0 = unlimited), got ${rate}`);
  }
  if (burst !== undefined && !(Number.isInteger(burst) && burst >= 1)) {
    throw new LedgerError(`burst must be a whole number >= 1, got ${burst}`);
  }
}
