import { describeOption } from '../checkOptions.js';

/** The types a `convert` step converts to. */
export const CONVERT_TARGETS = ['number', 'string', 'boolean'] as const;
export type ConvertTarget = (typeof CONVERT_TARGETS)[number];

// A sign, digits, an optional fraction and an optional exponent: what people write as a decimal number.
// Number() also takes '', ' 12 ', '0x1f', '0b1' and 'Infinity' (the first as 0): none of those is a
// number that someone stored as text.
const DECIMAL = /^[+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
const INTEGER = /^[+-]?\d+$/;

export type Conversion = { ok: true; value: unknown } | { ok: false; reason: string };

/**
 * `value` converted to `to`, or why it cannot be:
 * - to number: a number as it is; a string of the decimal grammar `[+-]digits[.digits][(e|E)[+-]digits]`
 *   whose number is finite and, for an integer, written back as the same integer (a fraction rounds to
 *   the nearest number, as JSON.parse rounds it); `true` → 1, `false` → 0.
 * - to string: a string as it is; a number as `String(n)` writes it; a boolean as `'true'` or `'false'`.
 * - to boolean: a boolean as it is; `'true'`, `'false'`, 1 and 0 only.
 * Nothing else converts: not null, an object or an array.
 */
export function convertValue(value: unknown, to: ConvertTarget): Conversion {
  switch (to) {
    case 'number':
      return toNumber(value);
    case 'string':
      return toText(value);
    case 'boolean':
      return toBoolean(value);
  }
}

function toNumber(value: unknown): Conversion {
  if (typeof value === 'number') return { ok: true, value };
  if (typeof value === 'boolean') return { ok: true, value: value ? 1 : 0 };
  if (typeof value !== 'string') return refused(value, 'number');
  if (!DECIMAL.test(value)) return refused(value, 'number', 'it is not a decimal number like `42`, `-0.5` or `1e3`');
  const number = Number(value);
  if (!Number.isFinite(number)) return refused(value, 'number', 'it is beyond the range of a number');
  // An integer beyond 2^53 converts when its number writes it back as the same integer, as
  // '48419267832954650' does; one with more digits than a number holds would silently change (an id, say).
  if (INTEGER.test(value) && !Number.isSafeInteger(number) && BigInt(value) !== writtenInteger(number)) {
    return refused(value, 'number', `the nearest number is ${number}, which would lose digits; keep it a string`);
  }
  return { ok: true, value: number };
}

/** The integer that `String(number)` writes, in exponent form from 1e21 on. */
function writtenInteger(number: number): bigint {
  const text = String(number);
  const match = /^(-?)(\d)(?:\.(\d+))?e\+(\d+)$/.exec(text);
  if (match === null) return BigInt(text);
  const [, sign, first, rest = '', exponent] = match;
  return BigInt(`${sign}${first}${rest}${'0'.repeat(Number(exponent) - rest.length)}`);
}

function toText(value: unknown): Conversion {
  if (typeof value === 'string') return { ok: true, value };
  if (typeof value === 'number' || typeof value === 'boolean') return { ok: true, value: String(value) };
  return refused(value, 'string');
}

function toBoolean(value: unknown): Conversion {
  if (typeof value === 'boolean') return { ok: true, value };
  if (value === 'true' || value === 1) return { ok: true, value: true };
  if (value === 'false' || value === 0) return { ok: true, value: false };
  return refused(value, 'boolean', 'only true, false, "true", "false", 1 and 0 convert to a boolean');
}

function refused(value: unknown, to: ConvertTarget, why?: string): Conversion {
  return { ok: false, reason: `cannot convert ${describeOption(value)} to a ${to}${why === undefined ? '' : `: ${why}`}` };
}
