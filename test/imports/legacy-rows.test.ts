import { PassThrough, Readable } from 'node:stream';
import { LegacyFileError, readLegacyCredits, readLegacyPayments } from '../../src/imports/legacy-rows';
import { DEFAULT_MAPPING, LegacyMapping, parseMapping } from '../../src/imports/mapping';

const CREDIT_HEADER = 'id,client_id,amount,interest_rate,total_installments,start_date,total_amount,installment_amount,paid_installments,balance,total_paid';
const CREDIT = '1001,CL-1,1000.00,5,12,2024-01-15,1600.00,133.33,2,1333.34,266.66';
const PAYMENT_HEADER = 'id,credit_id,amount,payment_date,installment_number,principal_portion,interest_portion';
const SPANISH = parseMapping('delimiter: ";"\nencoding: latin1\ndecimalSeparator: ","\nthousandsSeparator: "."\ndateFormat: dd/mm/yyyy\ncredits:\n  columns:\n    client_id: cliente\n    amount: monto\n');

const bytes = (text: string, encoding: BufferEncoding = 'utf8') => Readable.from([Buffer.from(text, encoding)]);

async function all<T>(rows: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const r of rows) out.push(r);
  return out;
}

async function failure(rows: AsyncIterable<unknown>): Promise<LegacyFileError> {
  try {
    await all(rows);
  } catch (err) {
    expect(err).toBeInstanceOf(LegacyFileError);
    return err as LegacyFileError;
  }
  throw new Error('the file was read without an error');
}

const credits = (text: string, mapping: LegacyMapping = DEFAULT_MAPPING) => readLegacyCredits(bytes(text, mapping.encoding === 'latin1' ? 'latin1' : 'utf8'), mapping);
const payments = (text: string, mapping: LegacyMapping = DEFAULT_MAPPING) => readLegacyPayments(bytes(text), mapping);

describe('reading a legacy credits file', () => {
  it('gives typed rows with exact decimal strings and ISO dates, whatever other columns the export has', async () => {
    const rows = await all(credits(`${CREDIT_HEADER},created_at,schedule_type,period_days,status\r\n${CREDIT},2024-01-15 10:00,FLAT,15,active\r\n`));
    expect(rows).toEqual([
      { line: 2, id: '1001', clientId: 'CL-1', amount: '1000.00', interestRate: '5', totalInstallments: 12, startDate: '2024-01-15', totalAmount: '1600.00', installmentAmount: '133.33', paidInstallments: 2, balance: '1333.34', totalPaid: '266.66', scheduleType: 'FLAT', periodDays: 15, status: 'active' },
    ]);
  });

  it('leaves out optional columns the export lacks or leaves empty', async () => {
    const [row] = await all(credits(`${CREDIT_HEADER},period_days\n${CREDIT},\n`));
    expect(row).not.toHaveProperty('periodDays');
    expect(row).not.toHaveProperty('scheduleType');
  });

  it("reads a Spanish lender's file: ';', decimal comma with '.' thousands, dd/mm/yyyy, Latin-1 accents, renamed columns", async () => {
    const header = CREDIT_HEADER.replace('client_id', 'cliente').replace(',amount,', ',monto,').replace(/,/g, ';');
    const text = `${header}\n1002;José Peña;1.234,50;2,5;6;5/1/2024;1.419,68;236,61;0;-0,00;0\n1003;"Ruiz; hijo";12.000,00;0;1;31/12/2023;12.000,00;12.000,00;1;0,00;12.000,00\n`;
    const rows = await all(credits(text, SPANISH));
    expect(rows[0]).toMatchObject({ line: 2, clientId: 'José Peña', amount: '1234.50', interestRate: '2.5', startDate: '2024-01-05', totalAmount: '1419.68', balance: '0.00', totalPaid: '0' });
    expect(rows[1]).toMatchObject({ line: 3, clientId: 'Ruiz; hijo', amount: '12000.00', startDate: '2023-12-31' });
  });

  it('streams: the first row comes out before the file ends', async () => {
    const input = new PassThrough();
    // csv-parse settles a record once the next line starts (it must see whether "\r\n" or "\n" ends it).
    input.write(`${CREDIT_HEADER}\n${CREDIT}\n${CREDIT.replace('1001', '1002')}\n`);
    const it = readLegacyCredits(input, DEFAULT_MAPPING)[Symbol.asyncIterator]();
    const first = await it.next();
    expect(first.value).toMatchObject({ id: '1001', line: 2 });
    expect(input.writableEnded).toBe(false);
    input.end();
    expect((await it.next()).value).toMatchObject({ id: '1002', line: 3 });
    expect((await it.next()).done).toBe(true);
  });

  describe('stops at the first value it cannot read, naming the line and column', () => {
    it.each([
      ['a header without a required column', CREDIT_HEADER.replace(',total_paid', ''), CREDIT.replace(/,[^,]*$/, ''), 'LEGACY_FILE_HEADER', 1, 'total_paid', 'the header has no column "total_paid"'],
      ['a column named twice', `${CREDIT_HEADER},balance`, `${CREDIT},1`, 'LEGACY_FILE_HEADER', 1, 'balance', 'names column "balance" twice'],
      ['a number that is not one', CREDIT_HEADER, CREDIT.replace('1600.00', '1600.00 EUR'), 'LEGACY_NUMBER_INVALID', 3, 'total_amount', '"1600.00 EUR" is not a number written like "1234.56"'],
      ['an amount in exponent notation', CREDIT_HEADER, CREDIT.replace('1000.00', '1e3'), 'LEGACY_NUMBER_INVALID', 3, 'amount', '"1e3"'],
      ['too many decimals in money', CREDIT_HEADER, CREDIT.replace('1333.34', '1333.345'), 'LEGACY_TOO_MANY_DECIMALS', 3, 'balance', 'has 3 decimals; this column holds at most 2'],
      ['too many decimals in a rate', CREDIT_HEADER, CREDIT.replace(',5,12,', ',5.12345678901,12,'), 'LEGACY_TOO_MANY_DECIMALS', 3, 'interest_rate', 'at most 10'],
      ['a fractional instalment count', CREDIT_HEADER, CREDIT.replace(',12,', ',12.5,'), 'LEGACY_NUMBER_INVALID', 3, 'total_installments', 'is not a whole number'],
      ['an impossible date', CREDIT_HEADER, CREDIT.replace('2024-01-15', '2023-02-29'), 'LEGACY_DATE_INVALID', 3, 'start_date', '"2023-02-29" is not a real date written yyyy-mm-dd'],
      ['a date in another format', CREDIT_HEADER, CREDIT.replace('2024-01-15', '15/01/2024'), 'LEGACY_DATE_INVALID', 3, 'start_date', 'yyyy-mm-dd'],
      ['an empty required value', CREDIT_HEADER, CREDIT.replace('CL-1', ''), 'LEGACY_VALUE_MISSING', 3, 'client_id', 'a value is required'],
    ])('%s', async (_what, header, bad, code, line, column, message) => {
      const e = await failure(credits(`${header}\n${header === CREDIT_HEADER ? CREDIT : bad}\n${bad}\n`));
      expect(e).toMatchObject({ code, file: 'credits.csv', line, column });
      expect(e.message).toContain(message);
      if (line > 1) expect(e.message).toContain(`credits.csv, line ${line}, column ${column}:`);
    });

    it('a line with the wrong number of fields', async () => {
      const e = await failure(credits(`${CREDIT_HEADER}\n${CREDIT}\n${CREDIT},extra\n`));
      expect(e).toMatchObject({ code: 'LEGACY_FILE_MALFORMED', line: 3, column: null });
    });

    it('bytes that are not UTF-8, on their line (and the hint that the file may be Latin-1)', async () => {
      const latin1 = Buffer.concat([Buffer.from(`${CREDIT_HEADER}\n${CREDIT}\n${CREDIT}\n`), Buffer.from(CREDIT.replace('CL-1', 'José'), 'latin1'), Buffer.from('\n')]);
      const e = await failure(readLegacyCredits(Readable.from([latin1]), DEFAULT_MAPPING));
      expect(e).toMatchObject({ code: 'LEGACY_FILE_ENCODING', line: 4 });
      expect(e.message).toContain('encoding: latin1');
    });

    it('a file whose fields another delimiter separates, with that hint; a UTF-8 BOM is not part of the header', async () => {
      const e = await failure(credits(`${CREDIT_HEADER.replace(/,/g, ';')}\n${CREDIT.replace(/,/g, ';')}\n`));
      expect(e).toMatchObject({ code: 'LEGACY_FILE_HEADER', line: 1, column: 'id' });
      expect(e.message).toContain('are its fields separated by ";"? say delimiter: in the mapping');
      expect(await all(credits(`\ufeff${CREDIT_HEADER}\r\n${CREDIT}\r\n`))).toMatchObject([{ id: '1001', line: 2 }]);
    });

    it('an empty file', async () => {
      expect(await failure(credits(''))).toMatchObject({ code: 'LEGACY_FILE_HEADER', line: 1 });
    });

    it("a Spanish number whose groups are not thousands, and a column the mapping renames but the file lacks", async () => {
      const header = CREDIT_HEADER.replace('client_id', 'cliente').replace(',amount,', ',monto,').replace(/,/g, ';');
      const e = await failure(credits(`${header}\n1002;Ana;1.23,50;5;6;05/01/2024;1,00;1,00;0;1,00;0\n`, SPANISH));
      expect(e).toMatchObject({ code: 'LEGACY_NUMBER_INVALID', line: 2, column: 'monto', field: 'amount' });
      expect(e.message).toContain('"1.234,56"');
      const missing = await failure(credits(`${header.replace('monto', 'importe')}\n`, SPANISH));
      expect(missing).toMatchObject({ code: 'LEGACY_FILE_HEADER', column: 'monto', field: 'amount' });
      expect(missing.message).toContain("(the mapping's name for amount)");
    });
  });
});

describe('reading a legacy payments file', () => {
  it('gives typed rows; the legacy portions may carry the float tail of its accessor', async () => {
    const rows = await all(payments(`${PAYMENT_HEADER}\n7,1001,133.33,2024-02-14,1,83.3333333333,49.9966666667\n8,1001,50,2024-03-01,,,\n`));
    expect(rows).toEqual([
      { line: 2, id: '7', creditId: '1001', amount: '133.33', paymentDate: '2024-02-14', installmentNumber: 1, principalPortion: '83.3333333333', interestPortion: '49.9966666667' },
      { line: 3, id: '8', creditId: '1001', amount: '50', paymentDate: '2024-03-01' },
    ]);
  });

  it.each([
    ['a missing payment_date column', PAYMENT_HEADER.replace(',payment_date', ''), '7,1001,1.00,1,1.00,0', 'LEGACY_FILE_HEADER', 1, 'payment_date'],
    ['a fractional instalment number', PAYMENT_HEADER, '7,1001,1.00,2024-02-14,1.5,1.00,0', 'LEGACY_NUMBER_INVALID', 2, 'installment_number'],
    ['a portion past 12 decimals', PAYMENT_HEADER, '7,1001,1.00,2024-02-14,1,0.1234567890123,0', 'LEGACY_TOO_MANY_DECIMALS', 2, 'principal_portion'],
    ['an amount with a currency sign', PAYMENT_HEADER, '7,1001,$1.00,2024-02-14,1,1.00,0', 'LEGACY_NUMBER_INVALID', 2, 'amount'],
    ['a payment without its credit', PAYMENT_HEADER, '7,,1.00,2024-02-14,1,1.00,0', 'LEGACY_VALUE_MISSING', 2, 'credit_id'],
  ])('%s stops the file at its line and column', async (_what, header, line2, code, line, column) => {
    const e = await failure(payments(`${header}\n${line2}\n`));
    expect(e).toMatchObject({ code, file: 'payments.csv', line, column });
  });
});
