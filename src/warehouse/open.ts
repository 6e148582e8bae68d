import { RecountError } from '../errors.ts';
import { parseWarehouseUrl } from './url.ts';
import type { Warehouse } from './warehouse.ts';

/** How long to wait for a busy DuckDB warehouse file or a PostgreSQL connection. */
export interface OpenWarehouseOptions {
  readonly lockTimeoutMs?: number;
  readonly connectTimeoutMs?: number;
}

function envMs(name: string): number | undefined {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0)
    throw new RecountError('CONFIG_INVALID', `${name}=${v}: expected milliseconds`, {
      subject: name,
      hint: `unset ${name} or give it a whole number`,
    });
  return n;
}

/**
 * Open the warehouse a URL names: `duckdb:<file>` (relative to the project folder) or `postgres://…`.
 * RECOUNT_WAREHOUSE_LOCK_TIMEOUT_MS and RECOUNT_WAREHOUSE_CONNECT_TIMEOUT_MS override the waits.
 */
export async function openWarehouse(
  url: string,
  projectDir: string,
  opts: OpenWarehouseOptions = {},
): Promise<Warehouse> {
  const loc = parseWarehouseUrl(url, projectDir);
  // Each warehouse's client is imported only when a project loads into it: a DuckDB warehouse never loads pg.
  if (loc.kind === 'duckdb') {
    const lockTimeoutMs = opts.lockTimeoutMs ?? envMs('RECOUNT_WAREHOUSE_LOCK_TIMEOUT_MS');
    return (await import('./duckdb/duckdbWarehouse.ts')).openDuckDBWarehouse(loc.path, { lockTimeoutMs });
  }
  const connectTimeoutMs = opts.connectTimeoutMs ?? envMs('RECOUNT_WAREHOUSE_CONNECT_TIMEOUT_MS');
  return (await import('./postgres/postgresWarehouse.ts')).openPostgresWarehouse(
    loc.connectionString,
    loc.display,
    loc.secrets,
    { connectTimeoutMs },
  );
}
