// Payment files: upload a file (CSV or NDJSON, under a generated Idempotency-Key), the recent batches; a batch's
// own page (#/files/<id>) is in file-batch.js.
import { h, replace, table } from '../lib/dom.js';
import { newIdempotencyKey } from '../lib/api.js';
import { count, money, when } from '../lib/format.js';
import { renderBatch, statusPill } from './file-batch.js';

const LIST_REFRESH_MS = 3000;
const RUNNING = ['RECEIVED', 'RUNNING'];

/** The file's media type: NDJSON by its type or extension, CSV otherwise. */
const mediaType = (file) => (/ndjson|jsonl/i.test(file.type) || /\.(ndjson|jsonl)$/i.test(file.name) ? 'application/x-ndjson' : 'text/csv');

/** A refused file's problem as a person reads it: where, then what. */
function problemText(err) {
  const b = err.body || {};
  const where = b.line ? 'line ' + b.line + (b.column ? ', column ' + b.column : '') + ': ' : '';
  return (err.code ? err.code + ' · ' : '') + where + err.message;
}

function uploadPanel(ctx) {
  // One key per chosen file: pressing Upload twice (or again after a lost answer) answers the same batch.
  let fileKey = null;
  const input = h('input', { id: 'file-input', type: 'file', accept: '.csv,.ndjson,.jsonl,text/csv,application/x-ndjson' });
  const mode = h('select', { id: 'file-mode', 'aria-label': 'Mode' }, [h('option', { value: 'APPLY', text: 'Apply' }), h('option', { value: 'DRY_RUN', text: 'Dry run (changes nothing)' })]);
  const keyNote = h('span', { id: 'file-key', class: 'mono empty' });
  const result = h('p', { id: 'upload-result', class: 'error', role: 'alert' });
  const button = h('button', { id: 'upload', type: 'submit', text: 'Upload' });
  const fresh = () => {
    fileKey = input.files[0] ? newIdempotencyKey() : null;
    keyNote.textContent = fileKey ? 'Idempotency-Key: ' + fileKey : '';
    result.textContent = '';
  };
  input.addEventListener('change', fresh);
  mode.addEventListener('change', fresh);
  const form = h('form', { id: 'upload-form', class: 'upload', autocomplete: 'off' }, [input, mode, button]);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const file = input.files[0];
    if (!file) return (result.textContent = 'Choose a file first.');
    button.disabled = true;
    result.textContent = '';
    try {
      const q = mode.value === 'DRY_RUN' ? '?mode=DRY_RUN' : '';
      const res = await ctx.api('/v1/payment-batches' + q, { method: 'POST', body: file, headers: { 'content-type': mediaType(file), 'idempotency-key': fileKey } });
      ctx.navigate('#/files/' + res.body.id);
    } catch (err) {
      if (err.status === undefined) return ctx.fail(err);
      result.textContent = 'The file was refused, nothing was recorded: ' + problemText(err);
    } finally {
      button.disabled = false;
    }
  });
  return h('section', { class: 'panel' }, [
    h('h2', {}, ['Upload a payment file ', h('small', { text: 'CSV with a header row, or NDJSON: creditId or creditExternalId, amount, paymentDate, reference, lineKey' })]),
    form,
    keyNote,
    result,
  ]);
}

function batchRow(b) {
  const link = h('a', { href: '#/files/' + b.id, class: 'mono', text: b.id.slice(0, 8) });
  const amount = b.mode === 'DRY_RUN' ? b.amounts.WOULD_APPLY : b.kind === 'REVERSAL' ? b.amounts.REVERSED : b.amounts.APPLIED;
  return h('tr', { 'data-batch-id': b.id, 'data-status': b.status }, [
    h('td', {}, [link]),
    h('td', { text: when(b.createdAt).slice(0, 19) }),
    h('td', { text: b.kind === 'REVERSAL' ? 'reversal' : b.format + (b.mode === 'DRY_RUN' ? ' · dry run' : '') }),
    h('td', {}, [statusPill(b.status)]),
    h('td', { class: 'num', text: count(b.lineCount) }),
    h('td', { class: 'num', text: count(b.progress.applied + b.counts.REVERSED) }),
    h('td', { class: 'num', text: count(b.counts.REJECTED) }),
    h('td', { class: 'num', text: money(amount) }),
  ]);
}

async function renderList(root, ctx) {
  const list = h('div', { id: 'batches' });
  root.append(uploadPanel(ctx), h('section', { class: 'panel' }, [h('h2', {}, ['Recent batches ', h('small', { text: 'files and reversals, newest first' })]), list]));
  let timer = null;
  const load = async () => {
    const { batches } = (await ctx.api('/v1/payment-batches?limit=20')).body;
    if (batches.length === 0) replace(list, h('p', { class: 'empty', text: 'No payment file yet.' }));
    else replace(list, table({ id: 'batches-table' }, ['batch', 'received', 'kind', 'status', ['lines', 'num'], ['applied', 'num'], ['refused', 'num'], ['amount', 'num']], batches.map(batchRow)));
    ctx.refreshed();
    // Refreshed while a batch on it runs.
    if (batches.some((b) => RUNNING.includes(b.status))) timer = setTimeout(() => load().catch(ctx.fail), LIST_REFRESH_MS);
  };
  await load();
  ctx.loaded();
  return () => clearTimeout(timer);
}

export default {
  route: 'files',
  title: 'Payment files',
  render(root, params, ctx) {
    return params[0] ? renderBatch(root, params[0], ctx) : renderList(root, ctx);
  },
};
