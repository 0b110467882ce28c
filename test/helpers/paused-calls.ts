/**
 * A wrapper that holds chosen calls of an object (a coordinator, a ledger, a broker) until the
 * test lets them go, so a test can force one interleaving of concurrent work deterministically:
 * "pause the next `openJob` after it returns", do something else meanwhile, then release it.
 * Every other call goes straight through to the real object.
 */

/** One held call: `reached` resolves with its arguments once it is held; `release` lets it go on. */
export interface HeldCall {
  reached: Promise<unknown[]>;
  release(): void;
}

type When = "before" | "after";

interface Hold {
  method: string;
  when: When;
  matches: (args: unknown[]) => boolean;
  arrived: (args: unknown[]) => void;
  released: Promise<void>;
}

export interface Paused<T extends object> {
  /** The wrapped object: hand it to the code under test. */
  target: T;
  /**
   * Holds the next call of `method` whose arguments `matches` accepts: before it reaches the real
   * object ("before"), or after it returned, with its result held back from the caller ("after").
   */
  pauseNext(method: keyof T & string, when: When, matches?: (args: unknown[]) => boolean): HeldCall;
}

export function paused<T extends object>(inner: T): Paused<T> {
  const holds: Hold[] = [];
  const take = (method: string, when: When, args: unknown[]): Hold | undefined => {
    const index = holds.findIndex((h) => h.method === method && h.when === when && h.matches(args));
    return index === -1 ? undefined : holds.splice(index, 1)[0];
  };
  const held = async (hold: Hold | undefined, args: unknown[]) => {
    if (hold === undefined) return;
    hold.arrived(args);
    await hold.released;
  };
  const target = new Proxy(inner, {
    get(object, prop, receiver) {
      const value = Reflect.get(object, prop, receiver);
      if (typeof prop !== "string" || typeof value !== "function") return value;
      return async (...args: unknown[]) => {
        await held(take(prop, "before", args), args);
        const result = await value.apply(object, args);
        await held(take(prop, "after", args), args);
        return result;
      };
    },
  });
  return {
    target,
    pauseNext(method, when, matches = () => true) {
      let arrived: (args: unknown[]) => void = () => {};
      const reached = new Promise<unknown[]>((resolve) => {
        arrived = resolve;
      });
      let release: () => void = () => {};
      const released = new Promise<void>((resolve) => {
        release = resolve;
      });
      holds.push({ method, when, matches, arrived, released });
      return { reached, release };
    },
  };
}
