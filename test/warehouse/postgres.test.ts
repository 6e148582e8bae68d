import { afterAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { hashBytes, hashHi, hashLo, hashUint32 } from '../../src/warehouse/pghash.ts';
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
    const texts = [...Array.from({ length: 30 }, (_, i) => 'abcdefghijklmnopqrstuvwxyz0123'.slice(0, i)), 'ünïcødé ✓ 日本語', "quote ' and \\ backslash"];
    const ints = [0n, 1n, -1n, 2147483647n, -2147483648n, 2147483648n, -2147483649n, 9223372036854775807n, -9223372036854775808n, 1234567890123n];
    const rows = await withClient(url, async (c) => {
      const t = await c.query<{ s: string; seed: number; h: string }>(`SELECT s, seed, hashtextextended(s, seed)::text AS h FROM unnest($1::text[]) s, unnest(ARRAY[1, 2, 13]) seed`, [texts]);
      const i = await c.query<{ v: string; seed: number; h: string }>(`SELECT v::text, seed, hashint8extended(v, seed)::text AS h FROM unnest($1::bigint[]) v, unnest(ARRAY[1, 7]) seed`, [ints.map(String)]);
      return { t: t.rows, i: i.rows };
    });
    const enc = new TextEncoder();
    for (const r of rows.t) {
      hashBytes(enc.encode(r.s), r.seed);
      expect(BigInt.asIntN(64, (BigInt(hashHi) << 32n) | BigInt(hashLo)).toString(), `text '${r.s}' seed ${r.seed}`).toBe(r.h);
    }
    for (const r of rows.i) expect(hashInt64(BigInt(r.v), r.seed).toString(), `int ${r.v} seed ${r.seed}`).toBe(r.h);
    hashUint32(5, 3);
    expect(hashInt64(5n, 3)).toBe(BigInt.asIntN(64, (BigInt(hashHi) << 32n) | BigInt(hashLo)));
  });
});
