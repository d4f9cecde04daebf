// One payment batch (#/files/<id>): followed live while it runs (lines read, done, applied, refused, amount,
// rate), cancelled or reversed (operator), its refused lines paged and downloaded as CSV for the bank.
import { h, replace, stats, table } from '../lib/dom.js';
import { count, duration, money, when } from '../lib/format.js';

const FOLLOW_MS = 1000;
const LINES_PAGE = 50;
const RUNNING = ['RECEIVED', 'RUNNING'];

export function statusPill(status, figure) {
  const cls = status === 'COMPLETED' ? 'good' : status === 'FAILED' || status === 'CANCELLED' ? 'bad' : '';
  return h('span', { class: 'pill ' + cls, 'data-figure': figure || 'batch-status', 'data-value': status, text: status });
}

export function progressBar(done, total) {
  const bar = h('div', { class: 'bar-fill' });
  bar.style.width = (total ? Math.round((1000 * done) / total) / 10 : 0) + '%';
  return h('div', { class: 'bar', role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': String(total), 'aria-valuenow': String(done) }, [bar]);
}

function summary(b) {
  const p = b.progress;
  const title = b.kind === 'REVERSAL' ? 'Reversal of ' : b.mode === 'DRY_RUN' ? 'Dry run of a ' + b.format + ' file' : b.format + ' file';
  const reverses = b.reverses ? h('a', { href: '#/files/' + b.reverses, class: 'mono', text: b.reverses }) : null;
  const link = b.temporalUiUrl ? h('a', { href: b.temporalUiUrl, target: '_blank', rel: 'noopener noreferrer', text: 'Temporal UI' }) : null;
  const figure = (name, value, text) => h('dd', { 'data-figure': name, 'data-value': String(value), text });
  const items = [
    ['lines read', figure('batch-lines', p.linesRead, count(p.linesRead))],
    ['done', figure('batch-done', p.linesDone, count(p.linesDone))],
    [b.mode === 'DRY_RUN' ? 'would apply' : b.kind === 'REVERSAL' ? 'reversed' : 'applied', figure('batch-applied', p.applied + b.counts.REVERSED, count(p.applied + b.counts.REVERSED))],
    ['refused', figure('batch-rejected', p.rejected, count(p.rejected))],
    ['duplicates', figure('batch-duplicate', p.duplicate, count(p.duplicate))],
    ['amount', figure('batch-amount', p.amountApplied, money(b.kind === 'REVERSAL' ? b.amounts.REVERSED : p.amountApplied))],
    ['rate', figure('batch-rate', p.linesPerSecond, count(p.linesPerSecond) + ' lines/s')],
    ['running for', figure('batch-duration', b.durationsMs.running, duration(b.durationsMs.running))],
  ];
  return [
    h('h2', {}, [title, reverses, ' ', statusPill(b.status)]),
    h('p', { class: 'empty' }, ['batch ', h('span', { class: 'mono', text: b.id }), ' · received ' + when(b.createdAt) + ' · by ' + (b.actor || '—') + (b.reason ? ' · reason: ' + b.reason : '') + ' · ', link]),
    progressBar(p.linesDone, p.linesRead),
    h('dl', { class: 'stats wide' }, items.map(([label, dd]) => h('div', {}, [h('dt', { text: label }), dd]))),
  ];
}

/** Cancel (running) or reverse (a finished file applied for real), for an operator key; the API decides. */
function actions(b, ctx, reload) {
  const out = h('div', { class: 'actions', id: 'batch-actions' });
  const act = async (path, body) => {
    try {
      const res = await ctx.api(path, { method: 'POST', body });
      if (res.body.id !== b.id) ctx.navigate('#/files/' + res.body.id);
      else reload();
    } catch (err) {
      ctx.fail(err);
    }
  };
  if (RUNNING.includes(b.status)) {
    out.appendChild(h('button', { id: 'cancel-batch', type: 'button', class: 'warn', text: 'Cancel after the current chunk', onclick: () => act('/v1/payment-batches/' + b.id + '/cancellation', {}) }));
  } else if (b.kind === 'FILE' && b.mode === 'APPLY' && (b.status === 'COMPLETED' || b.status === 'CANCELLED')) {
    const reason = h('input', { id: 'reversal-reason', type: 'text', placeholder: 'reason, e.g. file loaded twice', 'aria-label': 'Reason', maxlength: '500' });
    const form = h('form', { class: 'upload', autocomplete: 'off' }, [reason, h('button', { id: 'reverse-batch', type: 'submit', class: 'warn', text: 'Reverse every payment of this file' })]);
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      if (reason.value.trim()) act('/v1/payment-batches/' + b.id + '/reversal', { reason: reason.value.trim() });
    });
    out.appendChild(form);
  }
  return out;
}

/** The refused lines, a page at a time (keyset: `after` the last line number), and their CSV download. */
function refusedLines(b, ctx) {
  const box = h('div', { id: 'refused' });
  const cursors = [0];
  const show = async () => {
    const after = cursors[cursors.length - 1];
    const page = (await ctx.api('/v1/payment-batches/' + b.id + '/lines?status=REJECTED&limit=' + LINES_PAGE + '&after=' + after)).body;
    if (page.lines.length === 0 && cursors.length === 1) return replace(box, h('p', { class: 'empty', 'data-figure': 'refused-count', 'data-value': '0', text: 'No line was refused.' }));
    const credit = (l) => h('a', { href: '#/credits/' + encodeURIComponent(l.creditId || l.creditExternalId), class: 'mono', text: l.creditExternalId || l.creditId });
    const rows = page.lines.map((l) => h('tr', { 'data-line': String(l.lineNumber) }, [
      h('td', { class: 'num', text: String(l.lineNumber) }),
      h('td', {}, [credit(l)]),
      h('td', { class: 'num', text: money(l.amount) }),
      h('td', { text: l.paymentDate || '—' }),
      h('td', { text: l.reference || '' }),
      h('td', { class: 'mono', 'data-col': 'code', text: l.code }),
      h('td', { text: l.reason }),
    ]));
    const prev = h('button', { id: 'refused-prev', type: 'button', class: 'small', text: '← previous', disabled: cursors.length === 1, onclick: () => (cursors.pop(), show().catch(ctx.fail)) });
    const next = h('button', { id: 'refused-next', type: 'button', class: 'small', text: 'next →', disabled: page.next === null, onclick: () => (cursors.push(page.next), show().catch(ctx.fail)) });
    replace(box, table({ id: 'refused-table' }, [['line', 'num'], 'credit', ['amount', 'num'], 'date', 'reference', 'code', 'reason'], rows), h('p', { class: 'pager' }, [prev, ' page ' + cursors.length + ' ', next]));
  };
  const download = h('button', {
    id: 'download-refused',
    type: 'button',
    text: 'Download refused lines (CSV)',
    onclick: () => ctx.download('/v1/payment-batches/' + b.id + '/lines?status=REJECTED&format=csv', 'payment-batch-' + b.id + '-refused.csv').catch(ctx.fail),
  });
  const panel = h('section', { class: 'panel' }, [h('h2', {}, ['Refused lines ', h('small', { text: count(b.counts.REJECTED) + ' lines, with the code a single payment would get' })]), download, box]);
  return { panel, show };
}

export async function renderBatch(root, id, ctx) {
  let timer = null;
  let stopped = false;
  const head = h('section', { class: 'panel', id: 'batch' });
  root.append(h('p', { class: 'page-head' }, [h('a', { href: '#/files', text: '← payment files' })]), head);
  let lines = null;
  const load = async () => {
    const b = (await ctx.api('/v1/payment-batches/' + encodeURIComponent(id))).body;
    if (stopped) return;
    replace(head, ...summary(b), actions(b, ctx, () => load().catch(ctx.fail)));
    ctx.refreshed();
    const running = RUNNING.includes(b.status);
    // The refused lines once the batch has ended (they are final then), and again after a reversal or cancel.
    if (!running && !lines) {
      lines = refusedLines(b, ctx);
      root.appendChild(lines.panel);
      await lines.show();
    }
    if (running) timer = setTimeout(() => load().catch(ctx.fail), FOLLOW_MS);
  };
  await load();
  ctx.loaded();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
