import type { Partition } from '../catalog/partition.ts';
import { RecountError } from '../errors.ts';
import { faultPoint } from '../fault.ts';
import { keyPlan, type HashPlanEntry, type RowsChecksum } from './checksum.ts';
import { assertNoPartitionClash, partitionColumns } from './partitionColumns.ts';
import type { WarehouseDialect } from './dialect.ts';
import { planSchema, type WantedColumn } from './schemaPlan.ts';
import type {
  KeyCounts,
  LoadRecord,
  LoadRequest,
  LoadResult,
  TableRecord,
  VersionSource,
  WarehouseColumn,
} from './warehouse.ts';

/**
 * What a warehouse does inside one open transaction; the load protocol (runLoad) is the same for every
 * warehouse and lives here, so DuckDB and PostgreSQL cannot drift apart on what a load means.
 */
export interface LoadTransaction {
  /**
   * Whether the version's expected checksum is computed during the copy rather than after it: yes where the copy
   * is bound by another process (PostgreSQL's backend parsing the CSV), which leaves this one CPU to spare; no where
   * the copy itself runs on this process's threads (DuckDB).
   */
  readonly hashWhileCopying?: boolean;
  /** Serialise loads of one partition of one table (PostgreSQL: advisory transaction lock). */
  lockPartition(table: string, partition: string): Promise<void>;
  /** Serialise schema changes of one table; taken after the partition lock, never before. */
  lockTable(table: string): Promise<void>;
  loadRecord(table: string, partition: string): Promise<LoadRecord | undefined>;
  tableRecord(table: string): Promise<TableRecord | undefined>;
  columns(table: string): Promise<WarehouseColumn[] | undefined>;
  createTable(table: string, columns: readonly WantedColumn[], partition: readonly WantedColumn[]): Promise<void>;
  addColumns(table: string, columns: readonly WantedColumn[]): Promise<void>;
  deletePartition(table: string, partition: Partition): Promise<void>;
  /** Copy the version's rows in; returns the rows the warehouse says it inserted. */
  insertRows(table: string, source: VersionSource): Promise<number>;
  /** Rows and key checksum of the partition as the transaction sees it. */
  stats(table: string, partition: Partition, plan: readonly HashPlanEntry[]): Promise<RowsChecksum>;
  /** Keys held by more than one row, counted, with the `limit` most repeated. */
  duplicateKeys(table: string, partition: Partition, keys: readonly string[], limit: number): Promise<KeyCounts>;
  record(load: LoadRecord, table: TableRecord): Promise<void>;
}

/** The same key printed for people: (a=1, b=x). */
export function formatKey(key: Record<string, string | null>): string {
  return `(${Object.entries(key)
    .map(([k, v]) => `${k}=${v ?? 'NULL'}`)
    .join(', ')})`;
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
  const pid = source.partition.id;
  const done = (
    status: LoadResult['status'],
    previousVersion: number | null,
    rows: number,
    checksum: string,
    extra: Partial<LoadResult> = {},
  ): LoadResult => ({
    status,
    table: table.name,
    partition: pid,
    version: source.version,
    previousVersion,
    rows,
    checksum,
    tableCreated: false,
    columnsAdded: [],
    ms: performance.now() - t0,
    ...extra,
  });

  await tx.lockPartition(table.name, pid);
  const previous = await tx.loadRecord(table.name, pid);
  if (previous && previous.version === source.version && !req.force)
    return done('unchanged', previous.version, previous.rows, previous.checksum);
  if (req.isCurrent && !(await req.isCurrent())) return done('superseded', previous?.version ?? null, 0, '');

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
    return done('loaded', previous?.version ?? null, r.rows, r.checksum, {
      tableCreated: r.tableCreated,
      columnsAdded: r.columnsAdded,
      steps: r.steps,
    });
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

// Schema, delete, copy, reconcile, record: the part of a load that changes the table.
async function copyAndReconcile(
  tx: LoadTransaction,
  dialect: WarehouseDialect,
  req: LoadRequest,
  plan: readonly HashPlanEntry[],
  startExpected: () => Promise<RowsChecksum>,
): Promise<RowsChecksum & { tableCreated: boolean; columnsAdded: string[]; steps: Record<string, number> }> {
  const { table, source } = req;
  const pid = source.partition.id;
  const steps: Record<string, number> = {};
  let t = performance.now();
  const lap = (name: string) => {
    const now = performance.now();
    steps[name] = Math.round(now - t);
    t = now;
  };
  assertNoPartitionClash(table.name, table.grain, source.columns);
  const columns = source.columns.map((c) => ({ name: c.name, type: dialect.columnType(table.name, c.name, c.type) }));
  const partCols = partitionColumns(table.grain).map((c) => ({ name: c.name, type: dialect.partitionType(c) }));
  const plan0 = async () => {
    const recorded = await tx.tableRecord(table.name);
    return planSchema({
      table: table.name,
      existing: await tx.columns(table.name),
      columns,
      partitionColumns: partCols,
      keys: source.keys,
      recordedKeys: recorded?.keys,
      recordedColumns: recorded?.columns.flatMap((c) => {
        try {
          return [{ name: c.name, type: dialect.columnType(table.name, c.name, c.type) }];
        } catch {
          return [];
        }
      }),
      compatible: dialect.compatible,
    });
  };
  let schema = await plan0();
  if (schema.create || schema.add.length) {
    await tx.lockTable(table.name);
    schema = await plan0();
    if (schema.create) await tx.createTable(table.name, columns, partCols);
    if (schema.add.length) await tx.addColumns(table.name, schema.add);
  }
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
  if (want.rows !== source.rows) {
    throw new RecountError(
      'LOAD_MISMATCH',
      `${source.analyzer} ${pid} v${source.version}: its files hold ${want.rows} rows but its manifest records ${source.rows}`,
      {
        subject: source.dir,
        hint: 'the version folder was changed after it was published; rerun the partition to publish a new version. Nothing was loaded',
      },
    );
  }
  if (inserted !== source.rows || actual.rows !== source.rows || actual.checksum !== want.checksum) {
    const dups = await tx.duplicateKeys(table.name, source.partition, source.keys, 5);
    const parts = [
      `it holds ${actual.rows} rows after the copy (${inserted} inserted), the manifest of v${source.version} records ${source.rows}`,
    ];
    if (actual.checksum !== want.checksum) parts.push('the key checksum differs from the version');
    if (dups.keys)
      parts.push(
        `${dups.keys} duplicate key${dups.keys === 1 ? '' : 's'}, e.g. ${dups.sample.map((d) => `${formatKey(d.key)} x${d.count}`).join(', ')}`,
      );
    throw new RecountError(
      'LOAD_MISMATCH',
      `reconciliation failed for table ${table.name} partition ${pid}: ${parts.join('; ')}`,
      {
        subject: `${table.name} ${pid}`,
        hint: 'the load was rolled back, so the previous rows stay. Something else writes to this table (a trigger, a rule, another loader): find it',
        details: {
          table: table.name,
          partition: pid,
          version: source.version,
          manifestRows: source.rows,
          tableRows: actual.rows,
          inserted,
          expectedChecksum: want.checksum,
          tableChecksum: actual.checksum,
          duplicates: dups.sample,
          duplicateKeys: dups.keys,
        },
      },
    );
  }
  await tx.record(
    {
      table: table.name,
      partition: pid,
      analyzer: source.analyzer,
      version: source.version,
      rows: actual.rows,
      checksum: actual.checksum,
      loadedAt: new Date().toISOString(),
    },
    {
      table: table.name,
      analyzer: source.analyzer,
      grain: table.grain,
      keys: [...source.keys],
      columns: source.columns.map((c) => ({ name: c.name, type: c.type })),
    },
  );
  lap('record');
  faultPoint('before-load-commit');
  return { ...actual, tableCreated: schema.create, columnsAdded: schema.add.map((c) => c.name), steps };
}
