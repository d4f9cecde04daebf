import { DEFAULT_MAPPING, MappingError, parseMapping } from '../../src/imports/mapping';

function refusal(text: string): MappingError {
  try {
    parseMapping(text);
  } catch (err) {
    expect(err).toBeInstanceOf(MappingError);
    return err as MappingError;
  }
  throw new Error('the mapping was accepted');
}

describe('the mapping file', () => {
  it('without settings reads the standard shape', () => {
    expect(parseMapping('')).toEqual(DEFAULT_MAPPING);
    expect(DEFAULT_MAPPING).toMatchObject({ delimiter: ',', encoding: 'utf8', decimalSeparator: '.', thousandsSeparator: null, dateFormat: 'yyyy-mm-dd', interestRateUnit: 'percent' });
    expect(DEFAULT_MAPPING.credits.total_paid).toBe('total_paid');
    expect(DEFAULT_MAPPING.payments.credit_id).toBe('credit_id');
  });

  it("states a Spanish lender's formats and renames columns, keeping the standard name of every column it does not rename", () => {
    const m = parseMapping(
      ['delimiter: ";"', 'encoding: latin1', 'decimalSeparator: ","', 'thousandsSeparator: "."', 'dateFormat: dd/mm/yyyy', 'scheduleTypes: { Fijo: FLAT, "francés": DECLINING }', 'credits:', '  columns:', '    amount: monto', 'payments:', '  columns:', '    credit_id: credito'].join('\n'),
    );
    expect(m).toMatchObject({ delimiter: ';', encoding: 'latin1', decimalSeparator: ',', thousandsSeparator: '.', dateFormat: 'dd/mm/yyyy' });
    expect(m.scheduleTypes).toEqual({ fijo: 'FLAT', francés: 'DECLINING' });
    expect(m.credits.amount).toBe('monto');
    expect(m.credits.balance).toBe('balance');
    expect(m.payments.credit_id).toBe('credito');
  });

  it('names an unknown setting and its line', () => {
    const e = refusal('delimiter: ";"\ndecimal: ","\n');
    expect(e).toMatchObject({ code: 'MAPPING_INVALID', path: 'decimal', line: 2 });
    expect(e.message).toBe('mapping.yaml, line 2, decimal: unknown setting "decimal"');
  });

  it("names an unknown column and lists the file's columns", () => {
    const e = refusal('payments:\n  columns:\n    id: id_pago\n    fecha: fecha_pago\n');
    expect(e).toMatchObject({ path: 'payments.columns.fecha', line: 4 });
    expect(e.message).toContain('unknown column "fecha"');
    expect(e.message).toContain('payment_date');
  });

  it('refuses a value outside its list, naming the setting', () => {
    const e = refusal('encoding: latin1\ndateFormat: yyyy/dd/mm\n');
    expect(e).toMatchObject({ path: 'dateFormat', line: 2 });
    expect(e.message).toContain('dd/mm/yyyy');
    expect(refusal('delimiter: ":"')).toMatchObject({ path: 'delimiter', line: 1 });
    expect(refusal('encoding: utf16')).toMatchObject({ path: 'encoding' });
  });

  it('refuses a thousands separator that is the decimal separator', () => {
    expect(refusal('decimalSeparator: ","\nthousandsSeparator: ","').message).toContain('thousandsSeparator: cannot be the decimal separator ","');
  });

  it('refuses two columns read from one header', () => {
    const e = refusal('credits:\n  columns:\n    balance: saldo\n    total_paid: saldo\n');
    expect(e).toMatchObject({ path: 'credits.columns.total_paid', line: 4 });
    expect(e.message).toContain('"saldo" is already the column of balance');
  });

  it('refuses an empty column name', () => {
    expect(refusal('credits:\n  columns:\n    amount: ""\n')).toMatchObject({ path: 'credits.columns.amount' });
  });

  it('refuses text that is not YAML, and a setting given twice, with the line', () => {
    expect(refusal('credits:\n  columns: [\n')).toMatchObject({ path: null, line: expect.any(Number) });
    const twice = refusal('delimiter: ";"\ndelimiter: ","\n');
    expect(twice.line).toBe(2);
    expect(twice.message).toContain('not valid YAML');
  });

  it('refuses a document that is not a mapping of settings', () => {
    expect(refusal('- a\n- b\n').message).toContain('mapping.yaml');
  });
});
