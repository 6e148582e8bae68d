import { RecountError } from '../errors.ts';
import { openDuckDBWarehouse } from './duckdb/duckdbWarehouse.ts';
import { openPostgresWarehouse } from './postgres/postgresWarehouse.ts';
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
  if (!Number.isFinite(n) || n < 0) throw new RecountError('CONFIG_INVALID', `${name}=${v}: expected milliseconds`, { subject: name, hint: `unset ${name} or give it a whole number` });
  return n;
}

/**
 * Open the warehouse a URL names: `duckdb:<file>` (relative to the project folder) or `postgres://…`.
 * RECOUNT_WAREHOUSE_LOCK_TIMEOUT_MS and RECOUNT_WAREHOUSE_CONNECT_TIMEOUT_MS override the waits.
 */
export async function openWarehouse(url: string, projectDir: string, opts: OpenWarehouseOptions = {}): Promise<Warehouse> {
  const loc = parseWarehouseUrl(url, projectDir);
  if (loc.kind === 'duckdb') return openDuckDBWarehouse(loc.path, { lockTimeoutMs: opts.lockTimeoutMs ?? envMs('RECOUNT_WAREHOUSE_LOCK_TIMEOUT_MS') });
  return openPostgresWarehouse(loc.connectionString, loc.display, loc.secrets, { connectTimeoutMs: opts.connectTimeoutMs ?? envMs('RECOUNT_WAREHOUSE_CONNECT_TIMEOUT_MS') });
}
