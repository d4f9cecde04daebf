// Formatting for people. Money stays a decimal string here: it is never turned into a float to be shown.

/** "1234567.8" → "1,234,567.80", on the decimal string itself. */
export function money(s) {
  let str = String(s == null ? '0' : s);
  const neg = str.charAt(0) === '-';
  if (neg) str = str.slice(1);
  const parts = str.split('.');
  const frac = ((parts[1] || '') + '00').slice(0, 2);
  const int = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return (neg ? '-' : '') + int + '.' + frac;
}

export function count(n) {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

export function pct(rate) {
  return (Math.round(rate * 10000) / 100).toFixed(2) + ' %';
}

export function duration(ms) {
  if (ms == null) return '—';
  const s = Math.round(ms / 1000);
  if (s < 60) return ms < 1000 ? ms + ' ms' : s + ' s';
  const m = Math.floor(s / 60);
  if (m < 60) return m + ' min ' + (s % 60) + ' s';
  return Math.floor(m / 60) + ' h ' + (m % 60) + ' min';
}

/** An ISO time as "YYYY-MM-DD HH:MM:SS UTC". */
export function when(iso) {
  if (!iso) return '—';
  return String(iso).replace('T', ' ').replace(/\.\d+Z$/, ' UTC').replace(/Z$/, ' UTC');
}
