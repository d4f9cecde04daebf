import {
  CreditState,
  Schedule,
  applyPayment,
  diffState,
  initialState,
  recompute,
  validatePaymentDate,
  PaymentAllocation,
} from '../../src/domain';
import { f, m, refusal, schedule } from './helpers';

function lines(a: PaymentAllocation): string[][] {
  return a.lines.map((l) => [String(l.installmentNumber), f(l.amount), f(l.principal), f(l.interest), f(l.remainingForInstallment)]);
}

function summary(a: PaymentAllocation): string[] {
  return [f(a.amount), f(a.principal), f(a.interest), String(a.installmentNumber), f(a.remainingForInstallment), f(a.balanceAfter), f(a.totalPaidAfter)];
}

function pay(s: Schedule, st: CreditState, amount: string, paymentDate = '2025-01-10') {
  return applyPayment(s, st, { amount: m(amount), paymentDate });
}

// FLAT 1000.00 @ 0.05 × 4: 300.00 per instalment = 250.00 principal + 50.00 interest.
const flat4 = () => schedule({ principal: '1000.00', interestRate: '0.05', installments: 4 });

describe('initialState', () => {
  it('owes the total amount', () => {
    const st = initialState(flat4());
    expect([f(st.totalPaid), f(st.balance), st.paidInstallments, st.paymentCount, st.lastPaymentDate, st.status]).toEqual([
      '0.00',
      '1200.00',
      0,
      0,
      null,
      'ACTIVE',
    ]);
  });
});

describe('a partial payment inside one instalment', () => {
  it('splits principal P_1(c) = round(c × 250/300) and leaves the rest of the instalment due', () => {
    const s = flat4();
    // 100.00 on instalment 1: P(100) = round(83.333…) = 83.33 → interest 16.67; 200.00 still due
    const r1 = pay(s, initialState(s), '100.00', '2025-01-05');
    expect(summary(r1.allocation)).toEqual(['100.00', '83.33', '16.67', '1', '200.00', '1100.00', '100.00']);
    expect(lines(r1.allocation)).toEqual([['1', '100.00', '83.33', '16.67', '200.00']]);
    expect(r1.state.paidInstallments).toBe(0);
    expect(r1.state.paymentCount).toBe(1);
    expect(r1.state.lastPaymentDate).toBe('2025-01-05');
    expect(r1.state.status).toBe('ACTIVE');

    // another 100.00: P(200) = round(166.666…) = 166.67 → principal 83.34, interest 16.66
    const r2 = pay(s, r1.state, '100.00', '2025-01-03');
    expect(lines(r2.allocation)).toEqual([['1', '100.00', '83.34', '16.66', '100.00']]);
    expect(r2.state.lastPaymentDate).toBe('2025-01-05'); // an earlier-dated payment keeps the latest date

    // the last 100.00: P(300) = 250.00 exactly → principal 83.33, interest 16.67; instalment 1 paid
    const r3 = pay(s, r2.state, '100.00', '2025-01-20');
    expect(lines(r3.allocation)).toEqual([['1', '100.00', '83.33', '16.67', '0.00']]);
    expect(r3.state.paidInstallments).toBe(1);
    expect(r3.state.lastPaymentDate).toBe('2025-01-20');
    expect(f(r3.state.balance)).toBe('900.00');
  });
});

describe('a payment spanning several instalments', () => {
  it('fills the current remainder, then whole instalments, then part of the next', () => {
    const s = flat4();
    const r1 = pay(s, initialState(s), '100.00');
    // 650.00 after 100.00: instalment 1 gets 200.00 (principal 250 − 83.33 = 166.67, interest 33.33),
    // instalment 2 gets 300.00 (250.00 + 50.00), instalment 3 gets 150.00 (P(150) = 125.00, interest 25.00).
    const r2 = pay(s, r1.state, '650.00');
    expect(lines(r2.allocation)).toEqual([
      ['1', '200.00', '166.67', '33.33', '0.00'],
      ['2', '300.00', '250.00', '50.00', '0.00'],
      ['3', '150.00', '125.00', '25.00', '150.00'],
    ]);
    expect(summary(r2.allocation)).toEqual(['650.00', '541.67', '108.33', '1', '150.00', '450.00', '750.00']);
    expect(r2.state.paidInstallments).toBe(2);

    // paying the balance closes the credit
    const r3 = pay(s, r2.state, '450.00');
    expect(lines(r3.allocation)).toEqual([
      ['3', '150.00', '125.00', '25.00', '0.00'],
      ['4', '300.00', '250.00', '50.00', '0.00'],
    ]);
    expect(summary(r3.allocation)).toEqual(['450.00', '375.00', '75.00', '3', '0.00', '0.00', '1200.00']);
    expect(r3.state.status).toBe('PAID_OFF');
    expect(r3.state.paidInstallments).toBe(4);
    expect(f(r1.allocation.principal.plus(r2.allocation.principal).plus(r3.allocation.principal))).toBe('1000.00');
    expect(f(r1.allocation.interest.plus(r2.allocation.interest).plus(r3.allocation.interest))).toBe('200.00');
  });

  it('a payment ending exactly on an instalment boundary leaves 0.00 remaining and counts it paid', () => {
    const s = flat4();
    const r = pay(s, initialState(s), '600.00');
    expect(lines(r.allocation)).toEqual([
      ['1', '300.00', '250.00', '50.00', '0.00'],
      ['2', '300.00', '250.00', '50.00', '0.00'],
    ]);
    expect(r.allocation.remainingForInstallment.isZero()).toBe(true);
    expect(r.state.paidInstallments).toBe(2);
    // the next payment starts on instalment 3
    expect(pay(s, r.state, '0.01').allocation.installmentNumber).toBe(3);
  });

  it('DECLINING 1000.00 @ 0.05 × 3, 500.00: instalment 1 whole, 132.79 of instalment 2', () => {
    const s = schedule({ principal: '1000.00', interestRate: '0.05', installments: 3, scheduleType: 'DECLINING' });
    // instalment 2 = 367.21 (333.07 principal): P(132.79) = round(132.79 × 333.07 / 367.21 = 120.444…) = 120.44
    const r = pay(s, initialState(s), '500.00');
    expect(lines(r.allocation)).toEqual([
      ['1', '367.21', '317.21', '50.00', '0.00'],
      ['2', '132.79', '120.44', '12.35', '234.42'],
    ]);
    expect(summary(r.allocation)).toEqual(['500.00', '437.65', '62.35', '1', '234.42', '601.63', '500.00']);
    expect(r.state.paidInstallments).toBe(1);
  });

  it('paying the whole credit at once allocates every instalment in full', () => {
    const s = schedule({ principal: '1000.00', interestRate: '0.05', installments: 3 });
    const r = pay(s, initialState(s), '1150.00');
    expect(r.allocation.lines).toHaveLength(3);
    expect(summary(r.allocation)).toEqual(['1150.00', '1000.00', '150.00', '1', '0.00', '0.00', '1150.00']);
    expect(r.state.status).toBe('PAID_OFF');
  });
});

describe('refusals', () => {
  const s = flat4();
  const st = initialState(s);

  it.each(['0', '0.00', '-1.00', '0.001', '10.005'])('refuses amount %s with AMOUNT_INVALID', (a) => {
    const e = refusal(() => pay(s, st, a));
    expect(e.code).toBe('AMOUNT_INVALID');
    expect(e.field).toBe('amount');
  });

  it('refuses a JS number as amount', () => {
    const e = refusal(() => applyPayment(s, st, { amount: 100 as never, paymentDate: '2025-01-10' }));
    expect(e.code).toBe('AMOUNT_INVALID');
  });

  it('refuses more than the balance, naming the balance', () => {
    const e = refusal(() => pay(s, st, '1200.01'));
    expect(e.code).toBe('AMOUNT_EXCEEDS_BALANCE');
    expect(e.field).toBe('amount');
    expect(e.meta).toEqual({ balance: '1200.00' });
    const after = pay(s, st, '1000.50').state;
    const e2 = refusal(() => pay(s, after, '200.00'));
    expect(e2.meta).toEqual({ balance: '199.50' });
  });

  it('refuses any payment on a PAID_OFF credit', () => {
    const done = pay(s, st, '1200.00').state;
    expect(done.status).toBe('PAID_OFF');
    const e = refusal(() => pay(s, done, '0.01'));
    expect(e.code).toBe('CREDIT_NOT_ACTIVE');
  });

  it('refuses a payment date before the start date or not a date', () => {
    for (const d of ['2024-12-31', '2025-02-30', '2025-1-10', '']) {
      const e = refusal(() => pay(s, st, '10.00', d));
      expect(e.code).toBe('PAYMENT_DATE_INVALID');
      expect(e.field).toBe('paymentDate');
    }
    expect(pay(s, st, '10.00', '2025-01-01').state.lastPaymentDate).toBe('2025-01-01');
  });

  it('validatePaymentDate: not before start, not after today', () => {
    expect(validatePaymentDate('2025-01-01', '2025-01-01', '2025-03-01')).toBe('2025-01-01');
    expect(validatePaymentDate('2025-03-01', '2025-01-01', '2025-03-01')).toBe('2025-03-01');
    for (const d of ['2024-12-31', '2025-03-02', '2025-02-29', null, 20250201]) {
      const e = refusal(() => validatePaymentDate(d, '2025-01-01', '2025-03-01'));
      expect(e.code).toBe('PAYMENT_DATE_INVALID');
      expect(e.field).toBe('paymentDate');
    }
  });

  it('a refused payment leaves the state untouched (pure)', () => {
    const before = JSON.stringify(st);
    refusal(() => pay(s, st, '5000.00'));
    expect(JSON.stringify(st)).toBe(before);
  });
});

describe('recompute, reversal and diffState', () => {
  const s = flat4();
  const ledger = [
    { id: 'a', amount: m('100.00'), paymentDate: '2025-01-05' },
    { id: 'b', amount: m('650.00'), paymentDate: '2025-02-01' },
    { id: 'c', amount: m('50.00'), paymentDate: '2025-01-20' },
  ];

  it('replays the ledger in order', () => {
    const r = recompute(s, ledger);
    expect(r.allocations.map((x) => x.paymentId)).toEqual(['a', 'b', 'c']);
    expect(lines(r.allocations[2].allocation)).toEqual([['3', '50.00', '41.67', '8.33', '100.00']]);
    expect([f(r.state.totalPaid), f(r.state.balance), r.state.paidInstallments, r.state.paymentCount, r.state.lastPaymentDate]).toEqual([
      '800.00',
      '400.00',
      2,
      3,
      '2025-02-01',
    ]);
  });

  it('reversing a payment re-allocates the later ones', () => {
    const r = recompute(s, ledger.filter((p) => p.id !== 'a'));
    expect(lines(r.allocations[0].allocation)).toEqual([
      ['1', '300.00', '250.00', '50.00', '0.00'],
      ['2', '300.00', '250.00', '50.00', '0.00'],
      ['3', '50.00', '41.67', '8.33', '250.00'],
    ]);
    expect(lines(r.allocations[1].allocation)).toEqual([['3', '50.00', '41.66', '8.34', '200.00']]);
    expect(f(r.state.totalPaid)).toBe('700.00');
    expect(r.state.paymentCount).toBe(2);
  });

  it('an empty ledger is the initial state', () => {
    expect(diffState(initialState(s), recompute(s, []).state)).toEqual([]);
  });

  it('diffState compares money by value and reports each drifting field', () => {
    const { state } = recompute(s, ledger);
    expect(diffState({ ...state, totalPaid: m('800'), balance: m('400.0') }, state)).toEqual([]);
    const drifted: CreditState = {
      totalPaid: m('750.00'),
      balance: m('450.00'),
      paidInstallments: 1,
      paymentCount: 2,
      lastPaymentDate: null,
      status: 'PAID_OFF',
    };
    expect(diffState(drifted, state)).toEqual([
      { field: 'totalPaid', persisted: '750.00', recomputed: '800.00' },
      { field: 'balance', persisted: '450.00', recomputed: '400.00' },
      { field: 'paidInstallments', persisted: '1', recomputed: '2' },
      { field: 'paymentCount', persisted: '2', recomputed: '3' },
      { field: 'lastPaymentDate', persisted: 'null', recomputed: '2025-02-01' },
      { field: 'status', persisted: 'PAID_OFF', recomputed: 'ACTIVE' },
    ]);
  });
});
