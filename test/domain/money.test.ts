import {
  addAmounts,
  Decimal,
  DomainError,
  formatMoney,
  isCents,
  isDomainError,
  nonNegative,
  parseMoney,
  parsePositiveMoney,
  parseRate,
  roundMoney,
  sumMoney,
} from '../../src/domain';
import { refusal } from './helpers';

describe('Decimal clone', () => {
  it('has 40 significant digits and half-even rounding', () => {
    expect(Decimal.precision).toBe(40);
    expect(Decimal.rounding).toBe(Decimal.ROUND_HALF_EVEN);
    expect(new Decimal(1).div(3).toString()).toBe('0.' + '3'.repeat(40));
  });
});

describe('roundMoney (half-even, 2 decimals)', () => {
  it.each([
    ['0.125', '0.12'],
    ['0.135', '0.14'],
    ['2.675', '2.68'],
    ['2.665', '2.66'],
    ['-0.125', '-0.12'],
    ['-0.135', '-0.14'],
    ['0.004', '0.00'],
    ['-0.004', '0.00'],
    ['1.0051', '1.01'],
    ['83433333333.3325', '83433333333.33'],
    ['999999999999.995', '1000000000000.00'],
  ])('round(%s) = %s', (x, y) => {
    expect(formatMoney(roundMoney(x))).toBe(y);
  });

  it('never yields negative zero', () => {
    expect(roundMoney('-0.001').isNeg()).toBe(false);
    expect(formatMoney(new Decimal('-0'))).toBe('0.00');
  });
});

describe('formatMoney', () => {
  it('always prints two decimals', () => {
    expect(formatMoney(new Decimal('150'))).toBe('150.00');
    expect(formatMoney(new Decimal('150.5'))).toBe('150.50');
    expect(formatMoney(new Decimal('999999999999.99'))).toBe('999999999999.99');
    expect(formatMoney(new Decimal('-3.1'))).toBe('-3.10');
  });
});

describe('parseMoney', () => {
  it.each([
    ['0', '0.00'],
    ['0.00', '0.00'],
    ['-0', '0.00'],
    ['1', '1.00'],
    ['1.5', '1.50'],
    ['150.00', '150.00'],
    ['-1', '-1.00'],
    ['-12.34', '-12.34'],
    ['007.10', '7.10'],
    ['999999999999.99', '999999999999.99'],
  ])('accepts %j', (input, expected) => {
    expect(formatMoney(parseMoney(input, 'amount'))).toBe(expected);
  });

  it.each<[string, unknown]>([
    ['three decimals', '1.001'],
    ['exponent', '1e3'],
    ['NaN', 'NaN'],
    ['Infinity', 'Infinity'],
    ['a JS number', 1000],
    ['a JS number with decimals', 10.5],
    ['empty string', ''],
    ['leading space', ' 1'],
    ['trailing space', '1 '],
    ['13 integer digits', '1000000000000.00'],
    ['null', null],
    ['undefined', undefined],
    ['plus sign', '+1'],
    ['leading dot', '.5'],
    ['trailing dot', '1.'],
    ['comma decimal', '1,50'],
    ['hex', '0x10'],
    ['bigint', BigInt(5)],
    ['object', { value: '1.00' }],
    ['thousand separators', '1,000.00'],
  ])('refuses %s', (_label, input) => {
    const e = refusal(() => parseMoney(input, 'amount'));
    expect(e.code).toBe('AMOUNT_INVALID');
    expect(e.field).toBe('amount');
    expect(e.name).toBe('DomainError');
  });
});

describe('parsePositiveMoney', () => {
  it('accepts a positive amount', () => {
    expect(formatMoney(parsePositiveMoney('0.01', 'amount'))).toBe('0.01');
  });
  it.each<[unknown]>([['0'], ['0.00'], ['-1'], ['-0.01'], ['1.001'], [1000], [null]])('refuses %j', (input) => {
    const e = refusal(() => parsePositiveMoney(input, 'amount'));
    expect(e.code).toBe('AMOUNT_INVALID');
    expect(e.field).toBe('amount');
  });
});

describe('parseRate', () => {
  it.each([
    ['0', '0'],
    ['0.05', '0.05'],
    ['0.0000000001', '1e-10'],
    ['1.5', '1.5'],
    ['999.9999999999', '999.9999999999'],
  ])('accepts %j', (input, expected) => {
    expect(parseRate(input).eq(new Decimal(expected))).toBe(true);
  });
  it.each<[unknown]>([
    ['-0.05'],
    ['0.00000000001'],
    ['1000'],
    ['5%'],
    ['1e-2'],
    [''],
    [0.05],
    [null],
    ['.05'],
    [' 0.05'],
    ['NaN'],
  ])('refuses %j with TERMS_INVALID', (input) => {
    const e = refusal(() => parseRate(input));
    expect(e.code).toBe('TERMS_INVALID');
    expect(e.field).toBe('interestRate');
  });
  it('names the field it was given', () => {
    expect(refusal(() => parseRate('x', 'rate')).field).toBe('rate');
  });
});

describe("addAmounts (a batch's running total)", () => {
  it('adds decimal strings exactly and formats the sum', () => {
    expect(addAmounts('0.10', '0.20')).toBe('0.30'); // 0.30000000000000004 in floating point
    expect(addAmounts('0.00', '1.1')).toBe('1.10');
    expect(addAmounts('999999999999.99', '0.01')).toBe('1000000000000.00');
    expect(addAmounts('12.34', '-12.34')).toBe('0.00');
  });
});

describe('small helpers', () => {
  it('sumMoney, nonNegative, isCents, isDomainError', () => {
    expect(formatMoney(sumMoney([new Decimal('0.10'), new Decimal('0.20'), new Decimal('-0.05')]))).toBe('0.25');
    expect(formatMoney(sumMoney([]))).toBe('0.00');
    expect(formatMoney(nonNegative(new Decimal('-3')))).toBe('0.00');
    expect(formatMoney(nonNegative(new Decimal('3.5')))).toBe('3.50');
    expect(isCents(new Decimal('1.23'))).toBe(true);
    expect(isCents(new Decimal('1.234'))).toBe(false);
    const e = new DomainError('AMOUNT_INVALID', 'bad', 'amount');
    expect(isDomainError(e)).toBe(true);
    expect(isDomainError(e, 'AMOUNT_INVALID')).toBe(true);
    expect(isDomainError(e, 'TERMS_INVALID')).toBe(false);
    expect(isDomainError(new Error('x'))).toBe(false);
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('DomainError');
    expect(e.message).toBe('bad');
  });
});
