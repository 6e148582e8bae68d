import { afterAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { hashBytes, hashFloat8, hashHi, hashLo, hashUint32 } from '../../src/warehouse/pghash.ts';
import { hashInt64 } from '../../src/warehouse/checksum.ts';
import { openPostgresWarehouse } from '../../src/warehouse/postgres/postgresWarehouse.ts';
import { maskUrl } from '../../src/warehouse/url.ts';
import { startPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { warehouseContract } from './contract.ts';

// One server for this file: the contract and the hash checks each get their own database.
let server: Promise<TestPostgres> | undefined;
const shared = () => (server ??= startPostgres());
afterAll(async () => {
  await (await server)?.stop();
});

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

warehouseContract('PostgreSQL', async () => {
  const s = await shared();
  const url = await s.createDatabase('contract');
  return {
    kind: 'postgres',
    open: () => openPostgresWarehouse(url, maskUrl(url), [s.password]),
    tamper: (sql) => withClient(url, (c) => c.query(sql).then(() => undefined)),
    text: (c) => `${c}::text`,
    teardown: async () => undefined,
  };
});

describe('recount’s JavaScript hashes equal PostgreSQL’s', () => {
  it('hashtextextended for every tail length and multi-byte text, hashint8extended for edge integers', async () => {
    const s = await shared();
    const url = await s.createDatabase('hashes');
    const texts = [
      ...Array.from({ length: 30 }, (_, i) => 'abcdefghijklmnopqrstuvwxyz0123'.slice(0, i)),
      'ünïcødé ✓ 日本語',
      "quote ' and \\ backslash",
    ];
    const ints = [
      0n,
      1n,
      -1n,
      2147483647n,
      -2147483648n,
      2147483648n,
      -2147483649n,
      9223372036854775807n,
      -9223372036854775808n,
      1234567890123n,
    ];
    const rows = await withClient(url, async (c) => {
      const t = await c.query<{ s: string; seed: number; h: string }>(
        `SELECT s, seed, hashtextextended(s, seed)::text AS h FROM unnest($1::text[]) s, unnest(ARRAY[1, 2, 13]) seed`,
        [texts],
      );
      const i = await c.query<{ v: string; seed: number; h: string }>(
        `SELECT v::text, seed, hashint8extended(v, seed)::text AS h FROM unnest($1::bigint[]) v, unnest(ARRAY[1, 7]) seed`,
        [ints.map(String)],
      );
      return { t: t.rows, i: i.rows };
    });
    const enc = new TextEncoder();
    for (const r of rows.t) {
      hashBytes(enc.encode(r.s), r.seed);
      expect(
        BigInt.asIntN(64, (BigInt(hashHi) << 32n) | BigInt(hashLo)).toString(),
        `text '${r.s}' seed ${r.seed}`,
      ).toBe(r.h);
    }
    for (const r of rows.i) expect(hashInt64(BigInt(r.v), r.seed).toString(), `int ${r.v} seed ${r.seed}`).toBe(r.h);
    hashUint32(5, 3);
    expect(hashInt64(5n, 3)).toBe(BigInt.asIntN(64, (BigInt(hashHi) << 32n) | BigInt(hashLo)));
  });

  it('hashfloat8extended and hashfloat4extended for zeros, NaN, infinities, subnormals and ordinary values', async () => {
    const s = await shared();
    const url = await s.createDatabase('floathashes');
    const values = [
      '0',
      '-0',
      'NaN',
      'Infinity',
      '-Infinity',
      '4.9e-324',
      '2.2250738585072014e-308',
      '1.7976931348623157e308',
      '0.1',
      '-123.456',
      '1e22',
      '3',
    ];
    const rows = await withClient(
      url,
      async (c) =>
        (
          await c.query<{ v: string; seed: string; h8: string; h4: string }>(
            `SELECT v, seed::text, hashfloat8extended(v::float8, seed)::text AS h8, hashfloat4extended(v::float4, seed)::text AS h4
           FROM unnest($1::text[]) v, unnest(ARRAY[1, 5, 2147483647]::bigint[]) seed WHERE v NOT IN ('4.9e-324', '2.2250738585072014e-308', '1.7976931348623157e308', '1e22')
           UNION ALL SELECT v, seed::text, hashfloat8extended(v::float8, seed)::text, NULL FROM unnest($1::text[]) v, unnest(ARRAY[1, 5]::bigint[]) seed WHERE v IN ('4.9e-324', '2.2250738585072014e-308', '1.7976931348623157e308', '1e22')`,
            [values],
          )
        ).rows,
    );
    expect(rows).toHaveLength(8 * 3 + 4 * 2);
    const js = (v: number, seed: number) => {
      hashFloat8(v, seed);
      return BigInt.asIntN(64, (BigInt(hashHi) << 32n) | BigInt(hashLo)).toString();
    };
    for (const r of rows) {
      const v = Number(r.v);
      expect(js(v, Number(r.seed)), `float8 ${r.v} seed ${r.seed}`).toBe(r.h8);
      if (r.h4 !== null) expect(js(Math.fround(v), Number(r.seed)), `float4 ${r.v} seed ${r.seed}`).toBe(r.h4);
    }
    // Zero, either sign, hashes to the seed itself.
    expect(js(-0, 5)).toBe('5');
  });
});
