/**
 * Money: a decimal.js value at the edges (parsing, formatting, rates and schedule creation), exact integer
 * cents (`bigint`, no range limit) in the waterfall's arithmetic; never a JavaScript number.
 *
 * `Decimal` exported here is a module-local clone with 40 significant digits (far more than any
 * amount this service handles: ≤ 12 integer digits + 2 decimals, and interest totals of at most a
 * few more digits) so that intermediate products and quotients are exact for all practical purposes.
 * The one rounding is `roundHalfEven` (an exact integer quotient, half-even); `roundMoney` is it on a Decimal.
 */
import DecimalJs from 'decimal.js';
import { DomainError } from './errors';
import { assert } from './assert';

export const Decimal = DecimalJs.clone({
  precision: 40,
  rounding: DecimalJs.ROUND_HALF_EVEN,
  toExpNeg: -40,
  toExpPos: 40,
});
/** Instance type of the configured clone (identical to decimal.js' instance type). */
export type Decimal = DecimalJs;
// Type-only namespace so that `Decimal.Value` / `Decimal.Instance` work on the clone, as on decimal.js.
// eslint-disable-next-line @typescript-eslint/no-namespace
export declare namespace Decimal {
  type Value = DecimalJs.Value;
  type Instance = DecimalJs;
}
export type Money = Decimal;

const ZERO = new Decimal(0);

/** A value of this module's Decimal: itself when it already is one (Decimals are immutable), else a copy. */
function own(x: DecimalJs.Value): Decimal {
  return x instanceof Object && (x as Decimal).constructor === Decimal ? (x as Decimal) : new Decimal(x);
}

/**
 * THE one rounding: numerator / denominator (denominator > 0) to the nearest integer, a tie to the even one
 * (banker's rounding). Exact for integers of any size.
 */
export function roundHalfEven(numerator: bigint, denominator: bigint): bigint {
  assert(denominator > 0n, 'a rounded quotient has a positive denominator');
  let q = numerator / denominator; // truncated toward zero
  let r = numerator - q * denominator;
  if (r < 0n) {
    q -= 1n; // floor, so that 0 ≤ r < denominator
    r += denominator;
  }
  const twice = r + r;
  return twice > denominator || (twice === denominator && (q & 1n) === 1n) ? q + 1n : q;
}

/** `roundHalfEven` on a Decimal: to 2 decimals, half-even. Never returns -0. */
export function roundMoney(x: DecimalJs.Value): Decimal {
  const d = own(x);
  assert(d.isFinite(), 'money is finite');
  const places = d.decimalPlaces();
  if (places <= 2) return d.isZero() ? ZERO : d;
  // d = digits / 10^places exactly; in cents, digits / 10^(places − 2).
  return decimalOfCents(roundHalfEven(BigInt(d.toFixed(places).replace('.', '')), 10n ** BigInt(places - 2)));
}

/** Exact cents of an amount with at most 2 decimals (an invariant: amounts are parsed or rounded to cents). */
export function centsOf(x: DecimalJs): bigint {
  assert(x.isFinite() && x.decimalPlaces() <= 2, 'an amount in cents has at most 2 decimals');
  return BigInt(x.toFixed(2).replace('.', ''));
}

/** "150.00"-style text of an amount in cents: always two decimals, never "-0.00" (as PostgreSQL prints NUMERIC(p,2)). */
export function centsText(cents: bigint): string {
  const neg = cents < 0n;
  const digits = (neg ? -cents : cents).toString().padStart(3, '0');
  return `${neg ? '-' : ''}${digits.slice(0, -2)}.${digits.slice(-2)}`;
}

/** The Decimal of an amount in cents. */
export function decimalOfCents(cents: bigint): Decimal {
  return cents === 0n ? ZERO : new Decimal(centsText(cents));
}

/** Digits a JavaScript number adds exactly (< 2^53): 15 decimal digits. */
const SAFE_DIGITS = 15;

/**
 * Cents of `text[start, end)` when it has the shape PostgreSQL prints a NUMERIC(p,2) in ("150.00", "0.50",
 * "-3.10") with at most 15 digits (so exact as a number), read digit by digit; NaN for any other text.
 */
function printedCentsIn(text: string, start: number, end: number): number {
  const head = end > start && text.charCodeAt(start) === 45 ? 1 : 0; // '-'
  const n = end - start;
  if (n < head + 4 || n - head - 1 > SAFE_DIGITS || text.charCodeAt(end - 3) !== 46) return NaN;
  let v = 0;
  for (let i = start + head; i < end; i++) {
    if (i === end - 3) continue;
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return NaN;
    v = v * 10 + d; // < 10^15 < 2^53: exact
  }
  return head ? -v : v;
}

/** Cents of an amount text of any other shape, read by value; AMOUNT_INVALID unless a whole number of cents. */
function parseCentsByValue(text: string): bigint {
  let d: Decimal;
  try {
    d = new Decimal(text);
  } catch {
    throw new DomainError('AMOUNT_INVALID', `"${text}" is not an amount`);
  }
  if (!d.isFinite() || d.decimalPlaces() > 2) throw new DomainError('AMOUNT_INVALID', `"${text}" is not a whole number of cents`);
  return centsOf(d);
}

/**
 * Cents of the amount `text[start, end)` (the check reads fields in place, without cutting the text): PostgreSQL's
 * NUMERIC(p,2) shape digit by digit (the hot path); text of any other shape by value, refused (AMOUNT_INVALID)
 * unless it is a whole number of cents.
 */
export function parseCentsIn(text: string, start: number, end: number): bigint {
  const v = printedCentsIn(text, start, end);
  return v === v ? BigInt(v) : parseCentsByValue(text.slice(start, end));
}

/** Cents of an amount as PostgreSQL prints it; see parseCentsIn. */
export function parseCents(text: string): bigint {
  return parseCentsIn(text, 0, text.length);
}

/**
 * Cents of the amount `text[start, end)` as an exact number, for comparing stored amounts without a bigint
 * each; NaN (equal to nothing) when the text is not a whole number of cents below 2^53.
 */
export function centsNumberIn(text: string, start: number, end: number): number {
  const v = printedCentsIn(text, start, end);
  if (v === v) return v;
  try {
    const c = Number(parseCentsByValue(text.slice(start, end)));
    return Number.isSafeInteger(c) ? c : NaN;
  } catch {
    return NaN;
  }
}

/** True when `text`, an amount as PostgreSQL prints it, has the value of `cents` (compared by value, not by text). */
export function centsTextEquals(cents: bigint, text: string): boolean {
  try {
    return parseCents(text) === cents;
  } catch {
    return false; // not a whole number of cents: no amount in cents equals it
  }
}

const MONEY_RE = /^-?\d{1,12}(\.\d{1,2})?$/;

/**
 * Parses a money amount. Accepts ONLY a JS string in plain decimal notation with at most 12 integer
 * digits and at most 2 decimals (optionally negative). Anything else (numbers, exponents, NaN,
 * Infinity, spaces, '+', leading '.', more decimals, null…) is refused with AMOUNT_INVALID.
 */
export function parseMoney(input: unknown, field: string): Decimal {
  if (typeof input !== 'string') {
    throw new DomainError('AMOUNT_INVALID', `${field} must be a decimal string like "150.00"`, field);
  }
  if (!MONEY_RE.test(input)) {
    throw new DomainError(
      'AMOUNT_INVALID',
      `${field} must be a plain decimal string with at most 12 integer digits and 2 decimals`,
      field,
    );
  }
  const d = new Decimal(input);
  return d.isZero() ? ZERO : d;
}

/** parseMoney, and strictly greater than zero. */
export function parsePositiveMoney(input: unknown, field: string): Decimal {
  const d = parseMoney(input, field);
  if (!d.gt(0)) {
    throw new DomainError('AMOUNT_INVALID', `${field} must be greater than 0`, field);
  }
  return d;
}

/**
 * "150.00"-style string, always two decimals, never "-0.00". An amount with at most two decimals (every stored
 * one) is padded from its plain text, which this module's Decimal prints without exponent or trailing zeros:
 * the same text toFixed gives, without its rounding pass (a payment file formats a few numbers per line).
 */
export function formatMoney(x: DecimalJs): string {
  const d = own(x);
  if (d.isZero()) return '0.00';
  const text = d.toString();
  const dot = text.indexOf('.');
  if (dot === -1 && d.isFinite()) return `${text}.00`;
  if (dot !== -1 && text.length - dot === 3) return text;
  if (dot !== -1 && text.length - dot === 2) return `${text}0`;
  // More than two decimals: roundMoney leaves at most 2, so toFixed(2) only pads.
  return roundMoney(d).toFixed(2);
}

/** True when x already has at most two decimals. */
export function isCents(x: DecimalJs): boolean {
  return x.isFinite() && x.decimalPlaces() <= 2;
}

const RATE_RE = /^\d{1,3}(\.\d{1,10})?$/;

/**
 * Interest rate per period: a decimal string ≥ 0 with at most 3 integer digits and 10 decimals
 * (e.g. "0.05" = 5 % per period). Refused with TERMS_INVALID naming `field`.
 */
export function parseRate(input: unknown, field = 'interestRate'): Decimal {
  if (typeof input !== 'string' || !RATE_RE.test(input)) {
    throw new DomainError(
      'TERMS_INVALID',
      `${field} must be a decimal string ≥ 0 with at most 3 integer digits and 10 decimals, e.g. "0.05"`,
      field,
    );
  }
  const d = new Decimal(input);
  return d.isZero() ? ZERO : d;
}

/** Sum of money values (exact). */
export function sumMoney(xs: Iterable<DecimalJs>): Decimal {
  let s = ZERO;
  for (const x of xs) s = s.plus(x);
  return s;
}

/** Two amounts given as decimal strings, added exactly and formatted (a batch's running total of its chunks'). */
export function addAmounts(a: string, b: string): string {
  return formatMoney(new Decimal(a).plus(b));
}

/** max(0, x). */
export function nonNegative(x: DecimalJs): Decimal {
  return x.gt(0) ? new Decimal(x) : ZERO;
}
