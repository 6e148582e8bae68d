import { faultPoint } from '../fault.ts';
import { type HashPlanEntry, keyPlan, type RowsChecksum } from './checksum.ts';
import type { WarehouseDialect } from './dialect.ts';
import { assertReconciled } from './loadReconcile.ts';
import { applySchema } from './loadSchema.ts';
import type { LoadTransaction } from './loadTransaction.ts';
import type { LoadRecord, LoadRequest, LoadResult, TableRecord } from './warehouse.ts';

export { formatKey } from './formatKey.ts';
export type { LoadTransaction } from './loadTransaction.ts';

/** The expected checksum of the version's files, started at most once (during or after the copy). */
type ExpectedChecksum = () => Promise<RowsChecksum>;

/** Milliseconds per named step, each lap measured from the end of the one before. */
function stopwatch(): { steps: Record<string, number>; lap: (name: string) => void } {
  const steps: Record<string, number> = {};
  let t = performance.now();
  const lap = (name: string) => {
    const now = performance.now();
    steps[name] = Math.round(now - t);
    t = now;
  };
  return { steps, lap };
}

/** The rows of recount_loads and recount_tables a load writes in its transaction. */
function loadRecords(req: LoadRequest, actual: RowsChecksum): { load: LoadRecord; table: TableRecord } {
  const { table, source } = req;
  return {
    load: {
      table: table.name,
      partition: source.partition.id,
      analyzer: source.analyzer,
      version: source.version,
      rows: actual.rows,
      checksum: actual.checksum,
      loadedAt: new Date().toISOString(),
    },
    table: {
      table: table.name,
      analyzer: source.analyzer,
      grain: table.grain,
      keys: [...source.keys],
      columns: source.columns.map((c) => ({ name: c.name, type: c.type })),
    },
  };
}

// Schema, delete, copy, reconcile, record: the part of a load that changes the table.
async function copyAndReconcile(
  tx: LoadTransaction,
  dialect: WarehouseDialect,
  req: LoadRequest,
  plan: readonly HashPlanEntry[],
  startExpected: ExpectedChecksum,
): Promise<RowsChecksum & { tableCreated: boolean; columnsAdded: string[]; steps: Record<string, number> }> {
  const { table, source } = req;
  const { steps, lap } = stopwatch();
  const schema = await applySchema(tx, dialect, table, source);
  lap('schema');
  await tx.deletePartition(table.name, source.partition);
  lap('delete');
  if (tx.hashWhileCopying) startExpected();
  const inserted = await tx.insertRows(table.name, source);
  lap('copy');
  const expected = startExpected();
  const actual = await tx.stats(table.name, source.partition, plan);
  const want = await expected;
  await source.verified;
  lap('reconcile');
  await assertReconciled(tx, req, { inserted, actual, expected: want });
  const records = loadRecords(req, actual);
  await tx.record(records.load, records.table);
  lap('record');
  faultPoint('before-load-commit');
  return { ...actual, tableCreated: schema.create, columnsAdded: schema.add.map((c) => c.name), steps };
}

/** A load's result, timed from `t0` (keys in the order the JSON output has always printed them). */
function loadResult(
  req: LoadRequest,
  t0: number,
  r: Pick<LoadResult, 'status' | 'previousVersion' | 'rows' | 'checksum'> & Partial<LoadResult>,
): LoadResult {
  return {
    status: r.status,
    table: req.table.name,
    partition: req.source.partition.id,
    version: req.source.version,
    previousVersion: r.previousVersion,
    rows: r.rows,
    checksum: r.checksum,
    tableCreated: r.tableCreated ?? false,
    columnsAdded: r.columnsAdded ?? [],
    ms: performance.now() - t0,
    ...(r.steps ? { steps: r.steps } : {}),
  };
}

/**
 * Load one version of one partition inside an open transaction (the caller commits when this returns and
 * rolls back when it throws): lock the partition; skip when it already holds the version or a newer one was
 * published; create or widen the table; delete the partition's rows; copy the version's rows; reconcile rows
 * and key checksum with the manifest (a mismatch throws LOAD_MISMATCH, so nothing changes); record the load.
 * `expectedChecksum` (the version's files, hashed on DuckDB) runs while the warehouse counts and hashes the
 * partition, and on PostgreSQL already during the copy (LoadTransaction.hashWhileCopying).
 */
export async function runLoad(
  tx: LoadTransaction,
  dialect: WarehouseDialect,
  req: LoadRequest,
  expectedChecksum: (plan: readonly HashPlanEntry[], signal: AbortSignal) => Promise<RowsChecksum>,
): Promise<LoadResult> {
  const t0 = performance.now();
  const { table, source } = req;
  await tx.lockPartition(table.name, source.partition.id);
  const previous = await tx.loadRecord(table.name, source.partition.id);
  const previousVersion = previous?.version ?? null;
  if (previous && previous.version === source.version && !req.force)
    return loadResult(req, t0, {
      status: 'unchanged',
      previousVersion,
      rows: previous.rows,
      checksum: previous.checksum,
    });
  if (req.isCurrent && !(await req.isCurrent()))
    return loadResult(req, t0, { status: 'superseded', previousVersion, rows: 0, checksum: '' });

  const plan = keyPlan(source.columns, source.keys);
  const abort = new AbortController();
  let expected: Promise<RowsChecksum> | undefined;
  const startExpected = () => {
    if (!expected) {
      expected = expectedChecksum(plan, abort.signal);
      // It may fail (a file unreadable since publish) before anything awaits it: not an unhandled rejection, which
      // would end the process; whoever awaits it still gets the error.
      expected.catch(() => undefined);
    }
    return expected;
  };
  try {
    const r = await copyAndReconcile(tx, dialect, req, plan, startExpected);
    return loadResult(req, t0, { status: 'loaded', previousVersion, ...r });
  } catch (err) {
    // The expected checksum runs alongside on DuckDB: stop it and let it settle before the caller closes DuckDB.
    abort.abort();
    await expected?.catch(() => undefined);
    // A file that differs from its manifest is the cause of whatever reading it did (a Snappy error, a row count
    // that does not match): say that, as VERSION_FILES_MISSING, which waits for a fix instead of being retried.
    await source.verified;
    throw err;
  }
}
