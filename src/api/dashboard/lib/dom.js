// DOM helpers: elements are built with textContent, never from data through innerHTML.
const SVG = 'http://www.w3.org/2000/svg';

export const $ = (sel, root) => (root || document).querySelector(sel);
export const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));

/** An element: attrs (`text` sets textContent, `on<event>` adds a listener), then children. */
export function h(tag, attrs, children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k === 'text') node.textContent = v;
    else if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children || []) if (c) node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
  return node;
}

/** An SVG element. */
export function s(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

export function svgRoot(w, hgt, label) {
  return s('svg', { viewBox: '0 0 ' + w + ' ' + hgt, role: 'img', 'aria-label': label, preserveAspectRatio: 'xMidYMid meet' });
}

/** Empties `box` (an element or a selector) and puts `nodes` in it. */
export function replace(box, ...nodes) {
  const el = typeof box === 'string' ? $(box) : box;
  el.textContent = '';
  for (const n of nodes) if (n) el.appendChild(n);
  return el;
}

/** A table: headings (a string, or [text, class]) and rows of cells (a node, a string, or [text, attrs]). */
export function table(attrs, headings, rows) {
  const th = (x) => (Array.isArray(x) ? h('th', { class: x[1], text: x[0] }) : h('th', { text: x }));
  const td = (c) => (c instanceof Node ? h('td', {}, [c]) : Array.isArray(c) ? h('td', Object.assign({ text: c[0] }, c[1])) : h('td', { text: c == null ? '—' : String(c) }));
  return h('table', Object.assign({ class: 'figures' }, attrs), [
    h('thead', {}, [h('tr', {}, headings.map(th))]),
    h('tbody', {}, rows.map((r) => (r instanceof Node ? r : h('tr', {}, r.map(td))))),
  ]);
}

/** A definition grid: [label, value, figure name?] triples. */
export function stats(cls, items) {
  return h('dl', { class: cls }, items.map(([label, value, name]) => h('div', {}, [h('dt', { text: label }), h('dd', { 'data-figure': name, text: value })])));
}
