/**
 * Money: always a decimal.js value, never a JavaScript number.
 *
 * `Decimal` exported here is a module-local clone with 40 significant digits (far more than any
 * amount this service handles: ≤ 12 integer digits + 2 decimals, and interest totals of at most a
 * few more digits) so that intermediate products and quotients are exact for all practical purposes
 * and the only rounding that matters is the explicit one in `roundMoney`.
 */
import DecimalJs from 'decimal.js';
import { DomainError } from './errors';

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

/** THE one rounding function: 2 decimals, half-even (banker's rounding). Never returns -0. */
export function roundMoney(x: DecimalJs.Value): Decimal {
  const r = own(x).toDecimalPlaces(2, Decimal.ROUND_HALF_EVEN);
  return r.isZero() ? ZERO : r;
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
  return d.toFixed(2, Decimal.ROUND_HALF_EVEN);
}

/**
 * True when `text`, a money amount as PostgreSQL prints a NUMERIC(p,2) ("150.00", "0.50", "-3.10"), has the
 * value of `x`. The cheap way of `new Decimal(text).eq(x)` (a comparison, not a rounding): this module's Decimal
 * prints any amount up to 40 digits in plain notation without trailing zeros ("150", "0.5", "-3.1"), and such
 * text becomes that canonical form by dropping the trailing zeros of its two decimals. Text of any other shape
 * is parsed and compared by value.
 */
export function moneyTextEquals(x: DecimalJs, text: string): boolean {
  const n = text.length;
  const neg = n > 0 && text.charCodeAt(0) === 45; // '-'
  const head = neg ? 1 : 0;
  const first = text.charCodeAt(head);
  // "d…d.dd" with no leading zero (other than "0.dd") and at most 38 integer digits: the shape NUMERIC(p,2) prints.
  const shaped = n >= head + 4 && n <= 41 && text.charCodeAt(n - 3) === 46 && (first === 48 ? n === head + 4 : first > 48 && first <= 57);
  if (!shaped || x.constructor !== Decimal) return new Decimal(text).eq(x);
  let canonical = text.charCodeAt(n - 1) !== 48 ? text : text.charCodeAt(n - 2) !== 48 ? text.slice(0, n - 1) : text.slice(0, n - 3);
  if (neg && canonical === '-0') canonical = '0';
  return x.toString() === canonical;
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

/** max(0, x). */
export function nonNegative(x: DecimalJs): Decimal {
  return x.gt(0) ? new Decimal(x) : ZERO;
}
