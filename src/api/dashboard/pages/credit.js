// A credit (#/credits/<id or loan number>): its terms and figures, its schedule with paid and remaining per
// instalment, its payments with their split over the instalments, and its audit trail (newest first, paged).
import { h, replace, stats, table } from '../lib/dom.js';
import { count, money, when } from '../lib/format.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const AUDIT_PAGE = 25;

/** The credit a query names: its id, else the lender's loan number (an id-shaped loan number too). */
async function resolve(ctx, q) {
  if (UUID.test(q)) {
    try {
      return (await ctx.api('/v1/credits/' + q)).body;
    } catch (err) {
      if (err.status !== 404) throw err;
    }
  }
  const found = (await ctx.api('/v1/credits?externalId=' + encodeURIComponent(q))).body.credits[0];
  return found ? (await ctx.api('/v1/credits/' + found.id)).body : null;
}

function header(c) {
  const pill = h('span', { class: 'pill ' + (c.status === 'ACTIVE' ? '' : 'good'), 'data-figure': 'credit-status', text: c.status });
  return h('section', { class: 'panel', id: 'credit' }, [
    h('h2', {}, [h('span', { 'data-figure': 'credit-external-id', text: c.externalId || 'credit' }), ' ', pill, ' ', h('small', { class: 'mono', 'data-figure': 'credit-id', text: c.id })]),
    h('p', { class: 'empty', text: 'client ' + c.clientId + ' · ' + money(c.principal) + ' at ' + c.interestRate + ' per period · ' + c.installments + ' × ' + c.periodDays + ' days, ' + c.scheduleType + ' · from ' + c.startDate }),
    stats('stats wide', [
      ['total', money(c.totalAmount), 'credit-total'],
      ['paid', money(c.totalPaid), 'credit-paid'],
      ['balance', money(c.balance), 'credit-balance'],
      ['payments', count(c.paymentCount), 'credit-payments'],
      ['overdue (' + c.asOf.date + ')', money(c.asOf.overdueAmount) + ' · ' + c.asOf.overdueInstallments + ' inst.', 'credit-overdue'],
      ['next due', c.asOf.nextDueDate ? c.asOf.nextDueDate + ' · ' + money(c.asOf.nextDueAmount) : '—', 'credit-next-due'],
    ]),
  ]);
}

function schedulePanel(s) {
  const money$ = (v, col) => h('td', { class: 'num', 'data-col': col, 'data-value': v, text: money(v) });
  const rows = s.installments.map((i) =>
    h('tr', { 'data-installment': String(i.number) }, [
      h('td', { class: 'num', text: String(i.number) }),
      h('td', { text: i.dueDate }),
      money$(i.amount, 'amount'),
      money$(i.principal, 'principal'),
      money$(i.interest, 'interest'),
      money$(i.paid, 'paid'),
      money$(i.remaining, 'remaining'),
      h('td', { 'data-col': 'status', text: i.status }),
    ]),
  );
  return h('section', { class: 'panel' }, [
    h('h2', {}, ['Schedule ', h('small', { text: money(s.totalPaid) + ' paid of ' + money(s.totalAmount) })]),
    table({ id: 'schedule-table' }, [['#', 'num'], 'due', ['amount', 'num'], ['principal', 'num'], ['interest', 'num'], ['paid', 'num'], ['remaining', 'num'], 'status'], rows),
  ]);
}

function split(p) {
  if (!p.allocations.length) return h('span', { class: 'empty', text: p.reasonCode ? p.reasonCode + ': ' + (p.reason || '') : '—' });
  return h('ul', { class: 'split' }, p.allocations.map((a) =>
    h('li', { 'data-installment': String(a.installmentNumber), 'data-amount': a.amount }, ['#' + a.installmentNumber + ' ' + money(a.amount) + ' (principal ' + money(a.principal) + ', interest ' + money(a.interest) + '; ' + money(a.remainingForInstallment) + ' left)']),
  ));
}

function paymentsPanel(list) {
  const rows = list.payments
    .slice()
    .reverse()
    .map((p) =>
      h('tr', { 'data-payment-id': p.id, 'data-status': p.status }, [
        h('td', { text: p.paymentDate }),
        h('td', { class: 'num', 'data-col': 'amount', text: money(p.amount) }),
        h('td', { text: p.status }),
        h('td', { text: p.reference || '' }),
        h('td', {}, [split(p)]),
        h('td', { class: 'num', text: p.principalPortion ? money(p.principalPortion) + ' / ' + money(p.interestPortion) : '—' }),
        h('td', { class: 'num', text: p.balanceAfter ? money(p.balanceAfter) : '—' }),
      ]),
    );
  const body = rows.length ? table({ id: 'payments-table' }, ['date', ['amount', 'num'], 'status', 'reference', 'split over instalments', ['principal / interest', 'num'], ['balance after', 'num']], rows) : h('p', { class: 'empty', text: 'No payment yet.' });
  return h('section', { class: 'panel' }, [h('h2', {}, ['Payments ', h('small', { text: 'latest recorded first, with their split over the instalments' })]), body]);
}

function auditPanel(ctx, creditId) {
  const body = h('tbody');
  const more = h('button', { id: 'audit-more', type: 'button', class: 'small', text: 'older entries', hidden: true });
  let before = null;
  const load = async () => {
    const page = (await ctx.api('/v1/credits/' + creditId + '/audit?limit=' + AUDIT_PAGE + (before ? '&before=' + before : ''))).body;
    for (const e of page.entries) {
      body.appendChild(h('tr', { 'data-action': e.action }, [
        h('td', { text: when(e.occurredAt).slice(0, 19) }),
        h('td', { class: 'mono', text: e.action }),
        h('td', { text: e.actor || '—' }),
        h('td', { class: 'mono', text: e.paymentId ? e.paymentId.slice(0, 8) : '' }),
        h('td', { class: 'mono details', text: JSON.stringify(e.details) }),
      ]));
    }
    before = page.next;
    more.hidden = !before;
  };
  more.addEventListener('click', () => load().catch(ctx.fail));
  const t = table({ id: 'audit-table' }, ['when', 'action', 'actor', 'payment', 'details'], []);
  t.replaceChild(body, t.querySelector('tbody'));
  return { panel: h('section', { class: 'panel' }, [h('h2', {}, ['Audit trail ', h('small', { text: 'newest first; hash-chained, checked by audit verify' })]), t, more]), load };
}

export default {
  route: 'credits',
  title: 'Credit',
  async render(root, params, ctx) {
    const q = params[0];
    if (!q) {
      root.appendChild(h('section', { class: 'panel' }, [h('h2', { text: 'Open a credit' }), h('p', { class: 'empty', text: 'Type a credit id or the lender’s loan number in the search box above.' })]));
      return ctx.loaded();
    }
    const credit = await resolve(ctx, q);
    if (!credit) {
      root.appendChild(h('section', { class: 'panel' }, [h('p', { id: 'credit-none', class: 'empty', text: 'No credit has the id or loan number “' + q + '”.' })]));
      return ctx.loaded();
    }
    const [schedule, payments] = await Promise.all([ctx.api('/v1/credits/' + credit.id + '/schedule'), ctx.api('/v1/credits/' + credit.id + '/payments')]);
    const audit = auditPanel(ctx, credit.id);
    await audit.load();
    replace(root, header(credit), schedulePanel(schedule.body), paymentsPanel(payments.body), audit.panel);
    ctx.refreshed();
    ctx.loaded();
  },
};
