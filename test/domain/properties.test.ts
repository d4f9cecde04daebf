/**
 * Property-based tests of the domain laws (DESIGN.md §3). Each property runs RUNS generated cases.
 * Schedules that buildSchedule refuses (SCHEDULE_INVALID) are checked as refusals in the schedule
 * property and skipped (fc.pre) in the payment properties.
 */
import fc from 'fast-check';
import {
  CreditState,
  Decimal,
  DomainError,
  PaymentAllocation,
  Schedule,
  addDays,
  applyPayment,
  buildSchedule,
  daysBetween,
  diffState,
  figuresAsOf,
  formatMoney,
  initialState,
  parseMoney,
  principalCovered,
  recompute,
  roundMoney,
} from '../../src/domain';
import { RUNS, centsToString, paymentsFor, planArb, termsArb, tryBuild } from './arbitraries';

const f = formatMoney;
const zero = new Decimal(0);
const sum = (xs: Decimal[]): Decimal => xs.reduce((a, b) => a.plus(b), zero);
const params = { numRuns: RUNS };

function stateKey(s: CreditState): string {
  return JSON.stringify([f(s.totalPaid), f(s.balance), s.paidInstallments, s.paymentCount, s.lastPaymentDate, s.status]);
}
function allocationKey(a: PaymentAllocation): string {
  return JSON.stringify([
    f(a.amount), f(a.principal), f(a.interest), a.installmentNumber, f(a.remainingForInstallment), f(a.balanceAfter), f(a.totalPaidAfter),
    a.lines.map((l) => [l.installmentNumber, f(l.amount), f(l.principal), f(l.interest), f(l.remainingForInstallment)]),
  ]);
}
/** Largest k with D_k ≤ totalPaid, by linear scan (independent of the implementation's search). */
function paidByScan(s: Schedule, totalPaid: Decimal): number {
  let k = 0;
  for (const i of s.installments) if (i.cumulativeDue.lte(totalPaid)) k = i.number;
  return k;
}
function isCents(x: Decimal): boolean {
  return x.decimalPlaces() <= 2;
}
/** Cheap assertion for hot loops (jest's expect is too slow for ~10^6 checks). */
function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`law broken: ${what}`);
}
function same(actual: unknown, expected: unknown, what: string): void {
  if (actual !== expected) throw new Error(`law broken: ${what}: got ${String(actual)}, expected ${String(expected)}`);
}

describe('schedule laws (FLAT and DECLINING, random terms)', () => {
  it('Σ amounts = totalAmount, Σ principal_i = principal, Σ interest_i = totalInterest; or a clear SCHEDULE_INVALID', () => {
    let built = 0;
    fc.assert(
      fc.property(termsArb, (t) => {
        let s: Schedule;
        try {
          s = buildSchedule(t);
        } catch (e) {
          expect(e).toBeInstanceOf(DomainError);
          const d = e as DomainError;
          expect(d.code).toBe('SCHEDULE_INVALID');
          expect(['installmentAmount', 'principal', 'interest']).toContain(d.field);
          const k = Number(d.meta?.installment);
          expect(k >= 1 && k <= t.installments).toBe(true);
          return;
        }
        built++;
        const list = s.installments;
        expect(list).toHaveLength(t.installments);
        expect(f(sum(list.map((i) => i.amount)))).toBe(f(s.totalAmount));
        expect(f(sum(list.map((i) => i.principal)))).toBe(f(t.principal));
        expect(f(sum(list.map((i) => i.interest)))).toBe(f(s.totalInterest));
        expect(f(s.totalAmount)).toBe(f(t.principal.plus(s.totalInterest)));
        let cum = zero;
        list.forEach((i, idx) => {
          same(i.number, idx + 1, 'number');
          check(i.amount.gt(0), 'amount > 0');
          check(!i.principal.isNeg() && !i.interest.isNeg(), 'portions ≥ 0');
          check([i.amount, i.principal, i.interest].every(isCents), 'cents');
          same(f(i.principal.plus(i.interest)), f(i.amount), 'principal + interest = amount');
          cum = cum.plus(i.amount);
          same(f(i.cumulativeDue), f(cum), 'cumulativeDue');
          same(daysBetween(t.startDate, i.dueDate), idx * t.periodDays, 'due date');
          if (idx < list.length - 1) same(f(i.amount), f(s.installmentAmount), 'regular instalment');
        });
        if (t.scheduleType === 'FLAT') {
          expect(f(s.totalInterest)).toBe(f(roundMoney(t.principal.times(t.interestRate).times(t.installments))));
        } else {
          // each interest is round(remaining × r)
          let remaining = t.principal;
          for (const i of list) {
            same(f(i.interest), f(roundMoney(remaining.times(t.interestRate))), 'interest_i = round(remaining × r)');
            remaining = remaining.minus(i.principal);
          }
          expect(remaining.isZero()).toBe(true);
        }
      }),
      params,
    );
    expect(built).toBeGreaterThan(RUNS / 2);
  });
});

describe('waterfall laws', () => {
  it('paying a credit off: Σ principal portions = principal, Σ interest portions = totalInterest, per instalment too', () => {
    fc.assert(
      fc.property(termsArb, planArb, (t, plan) => {
        const s = tryBuild(t);
        fc.pre(s !== null);
        if (s === null) return;
        const ledger = paymentsFor(s, t.startDate, plan, true);
        let st = initialState(s);
        const allocs: PaymentAllocation[] = [];
        for (const p of ledger) {
          const r = applyPayment(s, st, p);
          st = r.state;
          allocs.push(r.allocation);
        }
        expect(st.status).toBe('PAID_OFF');
        expect(f(st.balance)).toBe('0.00');
        expect(st.paidInstallments).toBe(t.installments);
        expect(st.paymentCount).toBe(ledger.length);
        expect(f(sum(allocs.map((a) => a.principal)))).toBe(f(t.principal));
        expect(f(sum(allocs.map((a) => a.interest)))).toBe(f(s.totalInterest));
        // per instalment: the lines on it add up to its amount, principal and interest
        const per = s.installments.map(() => ({ amount: zero, principal: zero, interest: zero }));
        for (const a of allocs) {
          for (const l of a.lines) {
            const x = per[l.installmentNumber - 1];
            x.amount = x.amount.plus(l.amount);
            x.principal = x.principal.plus(l.principal);
            x.interest = x.interest.plus(l.interest);
          }
        }
        s.installments.forEach((i, idx) => {
          same(f(per[idx].amount), f(i.amount), `Σ lines on instalment ${i.number}`);
          same(f(per[idx].principal), f(i.principal), `Σ line principal on instalment ${i.number}`);
          same(f(per[idx].interest), f(i.interest), `Σ line interest on instalment ${i.number}`);
        });
        expect(f(st.totalPaid)).toBe(f(s.totalAmount));
      }),
      params,
    );
  });

  it('applying one by one equals recompute from the ledger', () => {
    fc.assert(
      fc.property(termsArb, planArb, fc.boolean(), (t, plan, payOff) => {
        const s = tryBuild(t);
        fc.pre(s !== null);
        if (s === null) return;
        const ledger = paymentsFor(s, t.startDate, plan, payOff);
        let st = initialState(s);
        const keys: string[] = [];
        for (const p of ledger) {
          const r = applyPayment(s, st, p);
          st = r.state;
          keys.push(allocationKey(r.allocation));
        }
        const rc = recompute(s, ledger);
        expect(stateKey(rc.state)).toBe(stateKey(st));
        expect(diffState(st, rc.state)).toEqual([]);
        expect(rc.allocations.map((a) => a.paymentId)).toEqual(ledger.map((p) => p.id));
        expect(rc.allocations.map((a) => allocationKey(a.allocation))).toEqual(keys);
      }),
      params,
    );
  });

  it('every allocation line is the definition: the payment\'s share of instalment i and P_i(after part) − P_i(before part)', () => {
    // Straight from DESIGN.md §3 over every instalment, independent of the waterfall's shortcuts.
    const clamp = (x: Decimal, hi: Decimal): Decimal => Decimal.min(hi, Decimal.max(zero, x));
    const definition = (s: Schedule, before: Decimal, after: Decimal): string[] =>
      s.installments.flatMap((inst) => {
        const start = inst.cumulativeDue.minus(inst.amount);
        const paidBefore = clamp(before.minus(start), inst.amount);
        const paidAfter = clamp(after.minus(start), inst.amount);
        if (!paidAfter.gt(paidBefore)) return [];
        const principal = principalCovered(inst, paidAfter).minus(principalCovered(inst, paidBefore));
        const amount = paidAfter.minus(paidBefore);
        return [JSON.stringify([inst.number, f(amount), f(principal), f(amount.minus(principal)), f(inst.amount.minus(paidAfter))])];
      });
    const linesOf = (a: PaymentAllocation): string[] =>
      a.lines.map((l) => JSON.stringify([l.installmentNumber, f(l.amount), f(l.principal), f(l.interest), f(l.remainingForInstallment)]));
    fc.assert(
      fc.property(termsArb, planArb, fc.boolean(), (t, plan, payOff) => {
        const s = tryBuild(t);
        fc.pre(s !== null);
        if (s === null) return;
        const ledger = paymentsFor(s, t.startDate, plan, payOff);
        const rc = recompute(s, ledger);
        let st = initialState(s);
        ledger.forEach((p, j) => {
          const expected = definition(s, st.totalPaid, st.totalPaid.plus(p.amount));
          const one = applyPayment(s, st, p);
          expect(linesOf(one.allocation)).toEqual(expected);
          expect(linesOf(rc.allocations[j].allocation)).toEqual(expected);
          st = one.state;
        });
      }),
      params,
    );
  });

  it('reversal: recompute without payment j equals applying all the others in order', () => {
    fc.assert(
      fc.property(termsArb, planArb, fc.boolean(), fc.nat(), (t, plan, payOff, jSeed) => {
        const s = tryBuild(t);
        fc.pre(s !== null);
        if (s === null) return;
        const ledger = paymentsFor(s, t.startDate, plan, payOff);
        const j = jSeed % ledger.length;
        const reversed = ledger[j];
        const others = ledger.filter((_, i) => i !== j);
        const rc = recompute(s, others);

        let st = initialState(s);
        const keys: string[] = [];
        for (const p of others) {
          const r = applyPayment(s, st, p);
          st = r.state;
          keys.push(allocationKey(r.allocation));
        }
        expect(stateKey(rc.state)).toBe(stateKey(st));
        expect(rc.allocations.map((a) => allocationKey(a.allocation))).toEqual(keys);
        // and the reversed state is the full one minus payment j
        const full = recompute(s, ledger).state;
        expect(f(rc.state.totalPaid)).toBe(f(full.totalPaid.minus(reversed.amount)));
        expect(f(rc.state.balance)).toBe(f(full.balance.plus(reversed.amount)));
        expect(rc.state.paymentCount).toBe(full.paymentCount - 1);
        expect(rc.state.status).toBe('ACTIVE');
        const drift = diffState(full, rc.state).map((d) => d.field);
        expect(drift).toEqual(expect.arrayContaining(['totalPaid', 'balance', 'paymentCount']));
        // re-applying the reversed payment at the end restores the aggregates
        const again = applyPayment(s, rc.state, reversed).state;
        expect(diffState(full, again).filter((d) => d.field !== 'lastPaymentDate')).toEqual([]);
      }),
      params,
    );
  });

  it('paidInstallments, installmentNumber and remainingForInstallment agree with the cumulative schedule; nothing negative', () => {
    fc.assert(
      fc.property(termsArb, planArb, fc.boolean(), (t, plan, payOff) => {
        const s = tryBuild(t);
        fc.pre(s !== null);
        if (s === null) return;
        const ledger = paymentsFor(s, t.startDate, plan, payOff);
        let st = initialState(s);
        let lastDate = null as string | null;
        for (const p of ledger) {
          const before = st;
          const { state, allocation: a } = applyPayment(s, st, p);
          st = state;
          lastDate = lastDate === null || p.paymentDate > lastDate ? p.paymentDate : lastDate;

          same(st.paidInstallments, paidByScan(s, st.totalPaid), 'st.paidInstallments');
          same(f(st.totalPaid), f(before.totalPaid.plus(p.amount)), 'f(st.totalPaid)');
          same(f(st.balance), f(s.totalAmount.minus(st.totalPaid)), 'f(st.balance)');
          same(st.lastPaymentDate, lastDate, 'st.lastPaymentDate');
          same(st.status, st.balance.isZero() ? 'PAID_OFF' : 'ACTIVE', 'st.status');

          same(a.installmentNumber, paidByScan(s, before.totalPaid) + 1, 'a.installmentNumber');
          const last = a.lines[a.lines.length - 1];
          same(f(a.remainingForInstallment), f(s.installments[last.installmentNumber - 1].cumulativeDue.minus(st.totalPaid)), 'f(a.remainingForInstallment)');
          check(a.lines.every((l, i) => l.installmentNumber === a.installmentNumber + i), 'lines cover consecutive instalments');
          same(f(sum(a.lines.map((l) => l.amount))), f(p.amount), 'f(sum(a.lines.map((l) => l.amount)))');
          same(f(a.principal.plus(a.interest)), f(a.amount), 'f(a.principal.plus(a.interest))');
          same(f(a.balanceAfter), f(st.balance), 'f(a.balanceAfter)');
          same(f(a.totalPaidAfter), f(st.totalPaid), 'f(a.totalPaidAfter)');

          // no figure ever negative, all to the cent
          const money = [st.totalPaid, st.balance, a.amount, a.principal, a.interest, a.remainingForInstallment, a.balanceAfter, a.totalPaidAfter];
          for (const l of a.lines) {
            money.push(l.amount, l.principal, l.interest, l.remainingForInstallment);
            same(l.amount.gt(0), true, 'l.amount.gt(0)');
            same(l.principal.lte(l.amount), true, 'l.principal.lte(l.amount)');
            same(f(l.principal.plus(l.interest)), f(l.amount), 'f(l.principal.plus(l.interest))');
            if (l !== last) same(f(l.remainingForInstallment), '0.00', 'f(l.remainingForInstallment)');
          }
          for (const x of money) {
            same(x.isNeg(), false, 'x.isNeg()');
            same(isCents(x), true, 'isCents(x)');
          }
          same(st.paidInstallments >= 0 && st.paymentCount >= 0, true, 'st.paidInstallments >= 0 && st.paymentCount >= 0');
        }
      }),
      params,
    );
  });

  it('over-payment is refused with the balance, and nothing changes', () => {
    fc.assert(
      fc.property(termsArb, planArb, fc.bigInt(1n, 10_000_000n), (t, plan, extraCents) => {
        const s = tryBuild(t);
        fc.pre(s !== null);
        if (s === null) return;
        const ledger = paymentsFor(s, t.startDate, plan, false);
        const { state } = recompute(s, ledger.length > 1 ? ledger : []);
        const before = stateKey(state);
        const amount = state.balance.plus(new Decimal(centsToString(extraCents)));
        try {
          applyPayment(s, state, { amount, paymentDate: t.startDate });
          throw new Error('over-payment accepted');
        } catch (e) {
          const d = e as DomainError;
          expect(d.code).toBe(state.status === 'PAID_OFF' ? 'CREDIT_NOT_ACTIVE' : 'AMOUNT_EXCEEDS_BALANCE');
          if (d.code === 'AMOUNT_EXCEEDS_BALANCE') expect(d.meta).toEqual({ balance: f(state.balance) });
        }
        expect(stateKey(state)).toBe(before);
      }),
      params,
    );
  });
});

describe('figures as of a date', () => {
  it('never negative; expected monotone in D; overdue = unpaid instalments due before D (up to the last due date)', () => {
    fc.assert(
      fc.property(termsArb, planArb, fc.boolean(), fc.integer({ min: -400, max: 40_000 }), fc.nat(40_000), (t, plan, payOff, d1, step) => {
        const s = tryBuild(t);
        fc.pre(s !== null);
        if (s === null) return;
        const { state } = recompute(s, paymentsFor(s, t.startDate, plan, payOff));
        const lastDue = s.installments[s.installments.length - 1].dueDate;
        const D1 = addDays(t.startDate, d1);
        const D2 = addDays(D1, step);
        const a = figuresAsOf(t, s, state, D1);
        const b = figuresAsOf(t, s, state, D2);
        for (const x of [a, b]) {
          expect(x.expectedInstallments).toBeGreaterThanOrEqual(0);
          expect(x.expectedInstallments).toBeLessThanOrEqual(t.installments);
          expect(x.pendingInstallments).toBeGreaterThanOrEqual(0);
          expect(x.overdueInstallments).toBeGreaterThanOrEqual(0);
          expect(x.overdueInstallments).toBeLessThanOrEqual(Math.max(0, x.pendingInstallments - 1));
          expect(x.overdueAmount.isNeg()).toBe(false);
          expect(isCents(x.overdueAmount)).toBe(true);
          if (x.overdueInstallments === 0) expect(f(x.overdueAmount)).toBe('0.00');
          expect(x.arrearsBucket).toBe(x.overdueInstallments === 0 ? 'current' : x.overdueInstallments >= 4 ? '4+' : String(x.overdueInstallments));
          if (state.status === 'PAID_OFF') {
            expect(x.nextDueDate).toBeNull();
            expect(x.nextDueAmount).toBeNull();
          } else {
            const next = s.installments[state.paidInstallments];
            expect(x.nextDueDate).toBe(next.dueDate);
            expect(x.nextDueAmount!.gt(0)).toBe(true);
            expect(x.nextDueAmount!.lte(next.amount)).toBe(true);
          }
          if (x.asOf >= t.startDate && x.asOf <= lastDue) {
            const unpaidDueBefore = s.installments.filter((i) => i.dueDate < x.asOf && i.cumulativeDue.gt(state.totalPaid)).length;
            expect(x.overdueInstallments).toBe(unpaidDueBefore);
          }
          if (x.asOf < t.startDate) expect(x.expectedInstallments).toBe(0);
        }
        expect(b.expectedInstallments).toBeGreaterThanOrEqual(a.expectedInstallments);
        expect(b.overdueInstallments).toBeGreaterThanOrEqual(a.overdueInstallments);
        expect(b.overdueAmount.gte(a.overdueAmount)).toBe(true);
      }),
      params,
    );
  });
});

describe('money and dates', () => {
  it('parseMoney ∘ formatMoney is the identity on cents; roundMoney is idempotent and half-even', () => {
    fc.assert(
      fc.property(fc.bigInt(-99_999_999_999_999n, 99_999_999_999_999n), fc.bigInt(0n, 999n), (cents, mills) => {
        const s = centsToString(cents);
        expect(f(parseMoney(s, 'amount'))).toBe(s === '-0.00' ? '0.00' : s);
        const x = new Decimal(s).plus(new Decimal(mills.toString()).div(100_000));
        const r = roundMoney(x);
        expect(f(roundMoney(r))).toBe(f(r));
        expect(x.minus(r).abs().lte('0.005')).toBe(true);
        if (x.minus(r).abs().eq('0.005')) expect(r.times(100).mod(2).isZero()).toBe(true);
      }),
      params,
    );
  });

  it('addDays and daysBetween are inverse and agree with Date', () => {
    fc.assert(
      fc.property(fc.integer({ min: -200_000, max: 200_000 }), fc.integer({ min: -100_000, max: 100_000 }), (a, b) => {
        const d1 = addDays('2000-01-01', a);
        expect(d1).toBe(new Date(Date.UTC(2000, 0, 1) + a * 86_400_000).toISOString().slice(0, 10));
        const d2 = addDays(d1, b);
        expect(daysBetween(d1, d2)).toBe(b);
        expect(addDays(d2, -b)).toBe(d1);
      }),
      params,
    );
  });
});
