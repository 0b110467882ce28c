/**
 * Generators for the fuzz targets, built from the wire grammars (docs/wire-protocol.md, service-api.md, node-interfaces.md): valid-ish inputs,
 * then mutated the ways a hostile or broken client would: wrong JSON types, numbers as strings,
 * hex of the wrong length or case, huge strings, deep nesting, unicode, prototype keys, duplicate
 * keys, extra commas, truncated text. Values are built as raw JSON *text*, so the generators can
 * say what JSON.stringify cannot (duplicate keys, `1e400`, `-0`, 3,000 levels of nesting).
 */
import fc from "fast-check";

const HEX_DIGITS = [..."0123456789abcdefABCDEF"];

/** Exactly `length` hex digits, mixed case. */
export const hex = (length: number) =>
  fc.string({ unit: fc.constantFrom(...HEX_DIGITS), minLength: length, maxLength: length });

/** Hex digits, mostly `length` of them, else one off, odd, in the wrong alphabet or padded. */
export function nearHex(length: number): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 6, arbitrary: hex(length) },
    { weight: 1, arbitrary: hex(length).map((s) => s.toUpperCase()) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: length + 2 }).chain((n) => hex(n)) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(hex(length), fc.nat(length), fc.constantFrom("g", "x", " ", "-", "\u0000", "é", "٣"))
        .map(([s, i, c]) => s.slice(0, i) + c + s.slice(i + 1)),
    },
    { weight: 1, arbitrary: hex(length).map((s) => `0x${s.slice(2)}`) },
    { weight: 1, arbitrary: hex(length).map((s) => ` ${s}\n`) },
  );
}

/** Raw JSON number texts JSON.stringify never writes, each parsing to something surprising. */
const ODD_NUMBERS = [
  "-0",
  "1.0",
  "1E1",
  "1e400",
  "-1e400",
  "1e-400",
  "5e-324",
  "0.1e1",
  "123456789012345678901234567890",
  "9007199254740993",
  "00",
];

/** JSON values of the wrong kind for almost any field. */
const WRONG = [
  null,
  true,
  false,
  0,
  -1,
  1.5,
  4294967296,
  1e21,
  "",
  " ",
  "0",
  "1",
  "-1",
  "1e3",
  "0x10",
  "Infinity",
  "NaN",
  "null",
  "true",
  "\u0000",
  "\uFEFF1",
  "١٢",
  " 5 ",
  "5\n",
  "__proto__",
  [],
  [1],
  {},
  { __proto__: null },
];

/** Any JSON text for a value: mostly small oddities, sometimes huge or deeply nested. */
export const wrongJson: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...WRONG).map((v) => JSON.stringify(v)) },
  { weight: 2, arbitrary: fc.constantFrom(...ODD_NUMBERS) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 24 }).map((s) => JSON.stringify(s)) },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 12 }).map((s) => JSON.stringify(s)) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 20_000 }).map((n) => JSON.stringify("x".repeat(n))) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.integer({ min: 1, max: 3000 }), fc.constantFrom("[]", '{"a":}'))
      .map(([depth, kind]) =>
        kind === "[]"
          ? "[".repeat(depth) + "]".repeat(depth)
          : `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`,
      ),
  },
);

/**
 * One field's JSON text: mostly `valid`, else a wrong value; a valid number is sometimes sent as
 * a string (as many Nano clients do) and a valid string sometimes padded or re-cased. `odd` (1 to
 * 6) is how often it is not `valid`: 4 gives valid 60% of the time, 1 gives 86%.
 */
export function field(valid: fc.Arbitrary<unknown>, odd = 4): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 24, arbitrary: valid.map((v) => JSON.stringify(v)) },
    { weight: 2 * odd, arbitrary: wrongJson },
    {
      weight: odd,
      arbitrary: valid.map((v) =>
        JSON.stringify(typeof v === "number" ? String(v) : typeof v === "string" ? v.toUpperCase() : v),
      ),
    },
    { weight: odd, arbitrary: valid.map((v) => JSON.stringify(typeof v === "string" ? ` ${v}` : [v])) },
  );
}

/** Keys a careless parser could trip on: prototype keys and lookalikes of real fields. */
const ODD_KEYS = ["__proto__", "constructor", "prototype", "toString", "hasOwnProperty", "valueOf", "", " "];

/**
 * A JSON object's text from its fields (each `required` one absent 1 time in 20, the others half
 * the time), shuffled, with prototype keys and random extra fields, and sometimes a field repeated
 * (JSON.parse keeps the last).
 */
export function object(
  fields: Record<string, fc.Arbitrary<string>>,
  required: string[] = [],
): fc.Arbitrary<string> {
  const entries = Object.entries(fields).map(([key, value]) =>
    fc.option(
      value.map((text) => [key, text] as const),
      { nil: undefined, freq: required.includes(key) ? 20 : 2 },
    ),
  );
  const extraKey = fc.oneof(
    fc.constantFrom(...ODD_KEYS, ...Object.keys(fields).map((k) => k.toUpperCase())),
    fc.string({ maxLength: 8 }),
  );
  const extra = fc.array(fc.tuple(extraKey, wrongJson), { maxLength: 3 });
  const repeat = fc.option(fc.tuple(fc.constantFrom(...Object.keys(fields)), wrongJson), {
    nil: undefined,
    freq: 8,
  });
  return fc
    .tuple(fc.tuple(...entries), extra, repeat, fc.infiniteStream(fc.nat()))
    .map(([chosen, extras, repeated, order]) => {
      const all: Array<readonly [string, string]> = [
        ...chosen.filter((e): e is readonly [string, string] => e !== undefined),
        ...extras,
      ];
      // A stable shuffle from the stream keeps the case reproducible (and shrinkable).
      const keyed = all.map((entry) => ({ entry, sort: order.next().value as number }));
      keyed.sort((a, b) => a.sort - b.sort);
      const texts = keyed.map(({ entry: [key, value] }) => `${JSON.stringify(key)}:${value}`);
      if (repeated) texts.unshift(`${JSON.stringify(repeated[0])}:${repeated[1]}`);
      return `{${texts.join(",")}}`;
    });
}

/** Comma-separated fields (MQTT payloads), with extra or missing commas and padding. */
export function csv(fields: fc.Arbitrary<string>[]): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 8, arbitrary: fc.tuple(...fields).map((parts) => parts.join(",")) },
    { weight: 1, arbitrary: fc.tuple(...fields).map((parts) => `${parts.join(",")},`) },
    { weight: 1, arbitrary: fc.tuple(...fields).map((parts) => parts.slice(1).join(",")) },
    { weight: 1, arbitrary: fc.tuple(...fields).map((parts) => parts.join(", ")) },
    { weight: 1, arbitrary: fc.tuple(...fields).map((parts) => `${parts.join(",")}\n`) },
    { weight: 1, arbitrary: fc.tuple(...fields).map((parts) => parts.join(",,")) },
  );
}

/**
 * Text mutations of a valid-ish input: as is, truncated, a character inserted or replaced, doubled,
 * wrapped, a byte-order mark, or random text in its place.
 */
export function mutated(text: fc.Arbitrary<string>): fc.Arbitrary<string> {
  const oddChar = fc.oneof(
    fc.constantFrom("\u0000", "\uFEFF", "\uD800", "\u2028", "é", "😀", ",", '"', "\\", "{", "}", "[", " "),
    fc.string({ unit: "binary", minLength: 1, maxLength: 1 }),
  );
  return fc.oneof(
    { weight: 10, arbitrary: text },
    { weight: 1, arbitrary: fc.tuple(text, fc.nat()).map(([t, i]) => t.slice(0, i % (t.length + 1))) },
    {
      weight: 1,
      arbitrary: fc.tuple(text, fc.nat(), oddChar).map(([t, i, c]) => {
        const at = i % (t.length + 1);
        return t.slice(0, at) + c + t.slice(at);
      }),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(text, fc.nat(), oddChar).map(([t, i, c]) => {
        const at = i % (t.length + 1);
        return t.slice(0, at) + c + t.slice(at + 1);
      }),
    },
    { weight: 1, arbitrary: text.map((t) => t + t) },
    { weight: 1, arbitrary: text.map((t) => `[${t}]`) },
    { weight: 1, arbitrary: text.map((t) => `\uFEFF${t}`) },
    { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 300 }) },
  );
}
