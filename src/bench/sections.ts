import { powSection } from "./pow.js";
import type { BenchSection } from "./section.js";

/** Every section `dpow bench` runs, in order (select some with --only). */
export const SECTIONS: readonly BenchSection[] = [powSection];
