/**
 * The one rounding, half-even, on ties made on purpose: every generated case below lies exactly halfway between
 * two integers (or two cents), where half-up, half-down and truncation all differ from half-even on one side.
 */
import fc from 'fast-check';
import DecimalJs from 'decimal.js';
import { formatMoney, principalCovered, roundHalfEven, roundMoney } from '../../src/domain';
import { RUNS, centsToString } from './arbitraries';

const params = { numRuns: RUNS };
/** An independent oracle: decimal.js at ample precision, rounded half-even to an integer. */
const Oracle = DecimalJs.clone({ precision: 200 });
const oracle = (n: bigint, d: bigint): bigint => BigInt(new Oracle(n.toString()).div(d.toString()).toDecimalPlaces(0, Oracle.ROUND_HALF_EVEN).toFixed(0));
const even = (x: bigint): boolean => x % 2n === 0n;

describe('roundHalfEven on ties', () => {
  it('q + ½ (any sign, any size) goes to whichever of q and q + 1 is even', () => {
    fc.assert(
      fc.property(fc.bigInt(-(10n ** 30n), 10n ** 30n), fc.bigInt(1n, 10n ** 20n), (q, half) => {
        const denominator = 2n * half;
        const r = roundHalfEven(q * denominator + half, denominator);
        expect(r === q || r === q + 1n).toBe(true);
        expect(even(r)).toBe(true);
        expect(r).toBe(oracle(q * denominator + half, denominator));
      }),
      params,
    );
  });

  it('next to a tie (one unit either side) it goes to the nearer integer', () => {
    fc.assert(
      fc.property(fc.bigInt(-(10n ** 30n), 10n ** 30n), fc.bigInt(1n, 10n ** 20n), fc.constantFrom(-1n, 1n), (q, half, side) => {
        const denominator = 2n * half + 1n; // odd: no exact tie; q + half/denominator is just below ½
        const numerator = q * denominator + half + (side > 0n ? 1n : 0n);
        expect(roundHalfEven(numerator, denominator)).toBe(side > 0n ? q + 1n : q);
        expect(roundHalfEven(numerator, denominator)).toBe(oracle(numerator, denominator));
      }),
      params,
    );
  });

  it('exact quotients are left alone, and every quotient agrees with the oracle', () => {
    fc.assert(
      fc.property(fc.bigInt(-(10n ** 36n), 10n ** 36n), fc.bigInt(1n, 10n ** 18n), (n, d) => {
        expect(roundHalfEven(n * d, d)).toBe(n);
        expect(roundHalfEven(n, d)).toBe(oracle(n, d));
      }),
      params,
    );
  });
});

describe('the domain rounds ties half-even through roundHalfEven', () => {
  it('roundMoney of x.xx5 exactly goes to the even cent', () => {
    fc.assert(
      fc.property(fc.bigInt(-99_999_999_999_999n, 99_999_999_999_999n), (cents) => {
        const tie = `${centsToString(cents)}5`; // cents + ½ cent, or cents − ½ cent when negative
        const r = roundMoney(tie);
        const lower = cents < 0n ? cents - 1n : cents;
        const expected = even(lower) ? lower : lower + 1n;
        expect(formatMoney(r)).toBe(centsToString(expected) === '-0.00' ? '0.00' : centsToString(expected));
      }),
      params,
    );
  });

  it('P_i(c) = c × principal / amount on a tie (amount = 2 × principal, c odd) takes the even cent', () => {
    fc.assert(
      fc.property(fc.bigInt(1n, 10n ** 15n), fc.bigInt(0n, 10n ** 15n), (principalCents, k) => {
        const amount = 2n * principalCents;
        const c = 2n * (k % principalCents) + 1n; // odd, 0 < c < amount: c × principal / amount = c / 2, a tie
        const inst = { number: 1, amount: new DecimalJs(centsToString(amount)), principal: new DecimalJs(centsToString(principalCents)), cumulativeDue: new DecimalJs(centsToString(amount)) };
        const covered = principalCovered(inst, new DecimalJs(centsToString(c)));
        const expected = even((c - 1n) / 2n) ? (c - 1n) / 2n : (c + 1n) / 2n;
        expect(formatMoney(covered)).toBe(centsToString(expected));
      }),
      params,
    );
  });
});
