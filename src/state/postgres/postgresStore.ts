import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { RecountError } from '../../errors.ts';
import { KyselyStateStore } from '../kyselyStore.ts';
import type { StateSchema } from '../types.ts';
import { maskUrl as redactUrl } from '../../config/secrets.ts';

const INT8_OID = 20;

/** pg type parsers for this store only: BIGINT columns (rows, bytes) come back as numbers, not strings. */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID
      ? (v: string) => Number(v)
      : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/**
 * Open (and migrate) the state store on PostgreSQL: for teams, where many `recount serve` processes on
 * several machines share one state store and queue. The URL's password never appears in errors.
 */
export async function openPostgresStore(url: string): Promise<KyselyStateStore> {
  const pool = new pg.Pool({ connectionString: url, max: 4, types, connectionTimeoutMillis: 10_000 });
  pool.on('error', () => undefined); // an idle client's network error surfaces on the next query instead
  try {
    const client = await pool.connect();
    client.release();
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw new RecountError(
      'STATE_STORE',
      `cannot reach the state store ${redactUrl(url)}: ${redactUrl((err as Error).message)}`,
      {
        subject: redactUrl(url),
        hint: 'check host, port, database, user and password of state (recount.config.ts or RECOUNT_STATE)',
        cause: err,
      },
    );
  }
  const store = new KyselyStateStore(
    new Kysely<StateSchema>({ dialect: new PostgresDialect({ pool }) }),
    'postgres',
    redactUrl(url),
  );
  await store.migrate();
  return store;
}
