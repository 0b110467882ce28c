export * from "./account.js";
export * from "./block.js";
export * from "./difficulty.js";
export * from "./errors.js";
export * from "./hex.js";
export * from "./keys.js";
export * from "./work.js";
