/**
 * Calendar dates as 'YYYY-MM-DD' strings (years 0001..9999), with pure day-count arithmetic
 * (proleptic Gregorian calendar, no time zones, no Date objects except in `todayIn`).
 */
import { DomainError, DomainErrorCode } from './errors';

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(y: number, m: number): number {
  return m === 2 && isLeap(y) ? 29 : MONTH_DAYS[m - 1];
}

/** The value of the ASCII digits input[from..to), or -1 when one of them is not a digit 0-9. */
function digits(input: string, from: number, to: number): number {
  let v = 0;
  for (let i = from; i < to; i++) {
    const c = input.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/** [year, month, day] of a valid date written exactly 'YYYY-MM-DD' (ASCII digits, /^\d{4}-\d{2}-\d{2}$/), else null. */
function splitValid(input: string): [number, number, number] | null {
  // Read character by character: this runs for every payment of every recalculated credit.
  if (typeof input !== 'string' || input.length !== 10 || input.charCodeAt(4) !== 45 || input.charCodeAt(7) !== 45) return null;
  const y = digits(input, 0, 4);
  const mo = digits(input, 5, 7);
  const d = digits(input, 8, 10);
  if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo)) return null;
  return [y, mo, d];
}

/** Days since 1970-01-01 of a civil date (H. Hinnant's days_from_civil). */
function toEpochDay(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** Civil date of a day count since 1970-01-01 (H. Hinnant's civil_from_days). */
function fromEpochDay(z0: number): [number, number, number] {
  const z = z0 + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp + (mp < 10 ? 3 : -9);
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  return [y, m, d];
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

function format(y: number, m: number, d: number): string {
  return `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}`;
}

/** Largest representable date. */
export const MAX_DATE = '9999-12-31';
export const MIN_DATE = '0001-01-01';

/** True when `input` is a real calendar date written 'YYYY-MM-DD'. */
export function isValidDate(input: unknown): input is string {
  return typeof input === 'string' && splitValid(input) !== null;
}

/**
 * Parses a 'YYYY-MM-DD' calendar date. Refuses non-strings, other formats (times, time zones,
 * single-digit parts…) and impossible dates such as 2025-02-30, with `code` (DATE_INVALID unless
 * the caller names another, e.g. TERMS_INVALID or PAYMENT_DATE_INVALID) and `field`.
 */
export function parseDate(input: unknown, field: string, code: DomainErrorCode = 'DATE_INVALID'): string {
  if (typeof input !== 'string' || splitValid(input) === null) {
    throw new DomainError(code, `${field} must be a real calendar date written YYYY-MM-DD`, field);
  }
  return input;
}

function epochDay(date: string): number {
  const p = splitValid(date);
  if (!p) throw new DomainError('DATE_INVALID', `not a YYYY-MM-DD date: ${String(date)}`, 'date');
  return toEpochDay(p[0], p[1], p[2]);
}

const MIN_EPOCH = toEpochDay(1, 1, 1);
const MAX_EPOCH = toEpochDay(9999, 12, 31);

/** date + days (days may be negative). Refuses results outside 0001-01-01..9999-12-31. */
export function addDays(date: string, days: number): string {
  if (!Number.isSafeInteger(days)) {
    throw new DomainError('DATE_INVALID', `days must be an integer, got ${String(days)}`, 'days');
  }
  const e = epochDay(date) + days;
  if (e < MIN_EPOCH || e > MAX_EPOCH) {
    throw new DomainError('DATE_INVALID', `${date} + ${days} days is outside ${MIN_DATE}..${MAX_DATE}`, 'date');
  }
  const [y, m, d] = fromEpochDay(e);
  return format(y, m, d);
}

/** `to − from` in whole days (negative when `to` is earlier). */
export function daysBetween(from: string, to: string): number {
  return epochDay(to) - epochDay(from);
}

/** The earlier / later of two dates. */
export function minDate(a: string, b: string): string {
  return a <= b ? a : b;
}
export function maxDate(a: string, b: string): string {
  return a >= b ? a : b;
}

/** Today's calendar date in an IANA time zone (e.g. 'America/Bogota'), as 'YYYY-MM-DD'. */
// Building an Intl formatter is costly and "today" is asked on every payment: one per zone.
const dayFormatters = new Map<string, Intl.DateTimeFormat>();

export function todayIn(timeZone: string, now: Date = new Date()): string {
  let fmt = dayFormatters.get(timeZone);
  if (!fmt) {
    try {
      fmt = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    } catch {
      throw new DomainError('DATE_INVALID', `unknown time zone: ${String(timeZone)}`, 'timeZone');
    }
    dayFormatters.set(timeZone, fmt);
  }
  const parts = fmt.formatToParts(now);
  const get = (t: string): number => Number(parts.find((p) => p.type === t)?.value);
  return format(get('year'), get('month'), get('day'));
}
