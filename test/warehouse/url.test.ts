import { describe, expect, it } from 'vitest';
import { RecountError } from '../../src/errors.ts';
import { maskUrl, parseWarehouseUrl, passwordsOf, redact, redactError } from '../../src/warehouse/url.ts';

describe('warehouse URLs', () => {
  it('masks the password of a URL, in the user part and in a password= parameter', () => {
    expect(maskUrl('postgres://bob:s3cr%40t@db.example:5432/wh')).toBe('postgres://bob:***@db.example:5432/wh');
    expect(maskUrl('postgresql://bob@db/wh?sslmode=require&password=p4ss')).toBe(
      'postgresql://bob@db/wh?sslmode=require&password=***',
    );
    expect(maskUrl('duckdb:.recount/warehouse.duckdb')).toBe('duckdb:.recount/warehouse.duckdb');
  });

  it('masks a password written without percent-encoding, even with /, ?, # or @ in it', () => {
    for (const pw of ['Leak/pw', 'a?b', 'x#y', 'p@ss', 'a/b?c#d@e']) {
      const url = `postgres://rc:${pw}@127.0.0.1:55432/wh`;
      expect(maskUrl(url)).toBe('postgres://rc:***@127.0.0.1:55432/wh');
      expect(passwordsOf(url)).toContain(pw);
    }
    expect(maskUrl('postgres://rc@db:5432/wh')).toBe('postgres://rc@db:5432/wh');
    expect(maskUrl('postgres://db:5432/wh')).toBe('postgres://db:5432/wh');
    let err: RecountError | undefined;
    try {
      parseWarehouseUrl('postgres://rc:Leak/pw@127.0.0.1:bad/wh', '/p');
    } catch (e) {
      err = e as RecountError;
    }
    expect(err?.code).toBe('CONFIG_INVALID');
    expect(JSON.stringify(err!.toJSON())).not.toContain('Leak');
  });

  it('redacts a password from any text, raw and percent-encoded, and from an error’s message, subject and hint', () => {
    expect(redact('auth failed for s3cr@t (s3cr%40t)', ['s3cr@t'])).toBe('auth failed for *** (***)');
    const e = redactError(
      new RecountError('WAREHOUSE_LOAD', 'server said s3cr@t', { subject: 'x s3cr@t', hint: 'not s3cr%40t' }),
      'postgres://bob:s3cr%40t@h/db',
    );
    expect([e.message, e.subject, e.hint].join(' ')).not.toMatch(/s3cr/);
    expect(e.code).toBe('WAREHOUSE_LOAD');
  });

  it('resolves duckdb: paths against the project and refuses other schemes with the URL masked', () => {
    expect(parseWarehouseUrl('duckdb:.recount/w.duckdb', '/p')).toMatchObject({
      kind: 'duckdb',
      path: '/p/.recount/w.duckdb',
    });
    expect(parseWarehouseUrl('postgres://u:pw@h:1/d', '/p')).toMatchObject({
      kind: 'postgres',
      display: 'postgres://u:***@h:1/d',
      secrets: ['pw'],
    });
    let err: RecountError | undefined;
    try {
      parseWarehouseUrl('mysql://u:topsecret@h/d', '/p');
    } catch (e) {
      err = e as RecountError;
    }
    expect(err).toMatchObject({ code: 'CONFIG_INVALID', subject: 'warehouse' });
    expect(err!.message).toContain('mysql://u:***@h/d');
    expect(err!.message).not.toContain('topsecret');
  });
});
