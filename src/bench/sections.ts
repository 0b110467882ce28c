import { browserSection } from "./browser.js";
import { hubSection } from "./hub.js";
import { powSection } from "./pow.js";
import { precacheSection } from "./precache.js";
import { scaleSection } from "./scale.js";
import type { BenchSection } from "./section.js";

/** Every section `dpow bench` runs, in order (select some with --only). */
export const SECTIONS: readonly BenchSection[] = [
  powSection,
  hubSection,
  precacheSection,
  scaleSection,
  browserSection,
];
