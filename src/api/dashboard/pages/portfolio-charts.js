// The portfolio page's inline SVG charts. Chart geometry only uses floats (heights are proportions); every
// label shows the API's decimal string.
import { s, svgRoot } from '../lib/dom.js';
import { count, money } from '../lib/format.js';

export const BUCKET_COLORS = { current: '#16a34a', '1': '#facc15', '2': '#f59e0b', '3': '#ea580c', '4+': '#dc2626' };
export const OUTCOMES = ['APPLIED', 'REJECTED', 'FAILED', 'REVERSED', 'PENDING'];
const OUTCOME_COLORS = { APPLIED: '#16a34a', REJECTED: '#d97706', FAILED: '#dc2626', REVERSED: '#7c3aed', PENDING: '#98a2b3' };

export function bucketsChart(buckets) {
  const W = 560, rowH = 34, top = 8, left = 74, right = 150;
  const svg = svgRoot(W, top * 2 + rowH * buckets.length, 'Credits per arrears bucket');
  const max = Math.max(...buckets.map((b) => b.credits), 1);
  buckets.forEach((b, i) => {
    const y = top + i * rowH;
    const w = Math.max(b.credits > 0 ? 3 : 0, ((W - left - right) * b.credits) / max);
    svg.appendChild(s('text', { x: left - 10, y: y + 20, 'text-anchor': 'end' }, b.bucket === 'current' ? 'current' : b.bucket + ' overdue'));
    svg.appendChild(s('rect', { x: left, y: y + 6, width: W - left - right, height: rowH - 12, rx: 4, fill: '#f2f4f7' }));
    const bar = s('rect', { x: left, y: y + 6, width: w, height: rowH - 12, rx: 4, fill: BUCKET_COLORS[b.bucket] || '#2563eb', 'data-bucket': b.bucket });
    bar.appendChild(s('title', {}, b.bucket + ': ' + b.credits + ' credits, balance ' + money(b.balance)));
    svg.appendChild(bar);
    svg.appendChild(s('text', { x: W - right + 10, y: y + 21, class: 'value', 'data-bucket-count': b.bucket }, count(b.credits) + (b.credits === 1 ? ' credit' : ' credits')));
  });
  return svg;
}

function niceCeil(v) {
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  return [1, 2, 2.5, 5, 10].find((k) => k * p >= v) * p;
}

function axisMoney(v) {
  if (v >= 1e6) return (v / 1e6).toFixed(v % 1e6 ? 1 : 0) + 'M';
  if (v >= 1e3) return (v / 1e3).toFixed(v % 1e3 ? 1 : 0) + 'k';
  return String(Math.round(v));
}

export function collectionsChart(days) {
  const W = 560, H = 230, left = 58, right = 10, top = 14, bottom = 34;
  const svg = svgRoot(W, H, 'Collections per day');
  const amounts = days.map((d) => parseFloat(d.amount));
  const max = Math.max(...amounts, 0);
  const niceMax = max > 0 ? niceCeil(max) : 1;
  const plotW = W - left - right, plotH = H - top - bottom;
  for (let g = 0; g <= 4; g++) {
    const gy = top + plotH - (plotH * g) / 4;
    svg.appendChild(s('line', { x1: left, x2: W - right, y1: gy, y2: gy, stroke: '#eef0f3' }));
    svg.appendChild(s('text', { x: left - 6, y: gy + 4, 'text-anchor': 'end' }, axisMoney((niceMax * g) / 4)));
  }
  const slot = plotW / days.length, barW = Math.max(2, slot * 0.7);
  days.forEach((d, i) => {
    const x = left + i * slot + (slot - barW) / 2;
    const bh = amounts[i] > 0 ? Math.max(2, (plotH * amounts[i]) / niceMax) : 0;
    const bar = s('rect', { x, y: top + plotH - bh, width: barW, height: bh, rx: 2, fill: '#2563eb', 'data-date': d.date, 'data-amount': d.amount });
    bar.appendChild(s('title', {}, d.date + ': ' + money(d.amount) + ' in ' + d.count + ' payments'));
    svg.appendChild(bar);
    if (i % 5 === 0 || i === days.length - 1) svg.appendChild(s('text', { x: left + i * slot + slot / 2, y: H - bottom + 16, 'text-anchor': 'middle' }, d.date.slice(5)));
  });
  svg.appendChild(s('line', { x1: left, x2: W - right, y1: top + plotH, y2: top + plotH, stroke: '#cbd2d9' }));
  return svg;
}

export function outcomesChart(byStatus) {
  const W = 560, H = 34;
  const svg = svgRoot(W, H, 'Payment outcomes');
  const total = OUTCOMES.reduce((a, k) => a + (byStatus[k] || 0), 0);
  svg.appendChild(s('rect', { x: 0, y: 4, width: W, height: H - 8, rx: 6, fill: '#f2f4f7' }));
  let x = 0;
  for (const k of OUTCOMES) {
    const n = byStatus[k] || 0;
    if (!total || !n) continue;
    const w = (W * n) / total;
    const r = s('rect', { x, y: 4, width: w, height: H - 8, fill: OUTCOME_COLORS[k] });
    r.appendChild(s('title', {}, k + ': ' + n));
    svg.appendChild(r);
    x += w;
  }
  return svg;
}
