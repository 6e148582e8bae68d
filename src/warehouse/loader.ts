import type { Analyzer, Project } from '../config/project.ts';
import { asRecountError, RecountError, type ErrorCode } from '../errors.ts';
import type { LoadRecordOutcome } from '../state/loadStore.ts';
import type { StateStore } from '../state/store.ts';
import type { VersionRow } from '../state/types.ts';
import { openWarehouse } from './open.ts';
import { parseWarehouseUrl, redactError } from './url.ts';
import { readVersionSource, type KnownFiles } from './versionSource.ts';
import type { LoadRequest, LoadResult, TargetTable, Warehouse } from './warehouse.ts';

/** What recount needs to load: the project (for the warehouse URL), its state store, and optionally an open warehouse. */
export interface LoadContext {
  readonly project: Project;
  readonly store: StateStore;
  /** A warehouse to reuse; when absent each load opens the project's and closes it after. */
  readonly warehouse?: Warehouse;
}

/** How a load of one partition ended, for people and --json. */
export interface LoadOutcome {
  readonly analyzer: string;
  readonly partition: string;
  readonly table: string;
  /** The warehouse, password masked. */
  readonly warehouse: string;
  readonly version: number;
  /** loaded / unchanged / superseded, or pending (retried later) / failed (needs a fix first) with the error. */
  readonly status: 'loaded' | 'unchanged' | 'superseded' | 'pending' | 'failed';
  readonly rows?: number;
  readonly checksum?: string;
  readonly previousVersion?: number | null;
  readonly tableCreated?: boolean;
  readonly columnsAdded?: readonly string[];
  readonly ms: number;
  /** Milliseconds per step inside the warehouse transaction (schema, delete, copy, reconcile, record). */
  readonly steps?: Readonly<Record<string, number>>;
  readonly error?: RecountError;
}

const RESERVED = new Set(['recount_loads', 'recount_tables']);

// These need a person to change something first (the table, the analyzer, the files, the credentials); the rest
// may pass on retry. Retrying wrong credentials would only fill the server's log with failed logins.
const NEEDS_A_FIX: ReadonlySet<ErrorCode> = new Set([
  'WAREHOUSE_SCHEMA',
  'LOAD_MISMATCH',
  'VERSION_FILES_MISSING',
  'CONFIG_INVALID',
  'WAREHOUSE_AUTH',
]);

/** A load failure is `failed` when only a change can fix it, else `pending` (unreachable, busy, a failed COPY, a crash). */
export function loadStatusFor(err: RecountError): 'pending' | 'failed' {
  return NEEDS_A_FIX.has(err.code) ? 'failed' : 'pending';
}

/**
 * The error of a load that did not happen, its hint ending with how the load is recorded and what retries it: said
 * here, where a load is recorded, not by the warehouse, whose errors reach the monitor and queries too.
 */
export function withLoadNote(err: RecountError, status: 'pending' | 'failed', analyzer?: string): RecountError {
  const note =
    status === 'pending'
      ? 'the table keeps its previous rows; the load is recorded as pending: recount load --pending retries it (and recount serve, with backoff)'
      : `the table keeps its previous rows; the load is recorded as failed and waits for the fix: then recount load${analyzer ? ` ${analyzer}` : ''} --pending`;
  return new RecountError(err.code, err.message, {
    subject: err.subject,
    hint: err.hint ? `${err.hint.replace(/[.;\s]+$/, '')}; ${note}` : note,
    details: err.details,
    cause: err.cause,
  });
}

/** The table an analyzer's versions load into, or undefined when it has none (or an invalid one: its load then fails on its own). */
export function loadTableOf(analyzer: Analyzer): string | undefined {
  try {
    return analyzer.load ? loadTarget(analyzer).name : undefined;
  } catch {
    return undefined;
  }
}

/** Where the project's warehouse is, password masked (the URL as written when it does not parse). */
export function warehouseDisplay(project: Project): string {
  try {
    return parseWarehouseUrl(project.warehouseUrl, project.dir).display;
  } catch (err) {
    return (err as RecountError).subject ?? 'warehouse';
  }
}

/** The warehouse table of an analyzer; CONFIG_INVALID when it has no `load`. */
export function loadTarget(analyzer: Analyzer): TargetTable {
  if (!analyzer.load) {
    throw new RecountError('CONFIG_INVALID', `analyzer '${analyzer.name}' has no warehouse table`, {
      subject: `${analyzer.file}: load`,
      hint: `add load: { table: '${analyzer.name}' } to defineAnalyzer in ${analyzer.file}`,
    });
  }
  if (RESERVED.has(analyzer.load.table.split('.').at(-1)!)) {
    throw new RecountError(
      'CONFIG_INVALID',
      `${analyzer.file}: load.table '${analyzer.load.table}' is the name of recount's own bookkeeping table`,
      {
        subject: `${analyzer.file}: load.table`,
        hint: 'choose another table name',
      },
    );
  }
  return { name: analyzer.load.table, analyzer: analyzer.name, grain: analyzer.grain };
}

/** At most this many loads go in one warehouse transaction (loadVersions' callers cut longer lists). */
export const MAX_LOADS_PER_TRANSACTION = 32;

/** How loadVersion loads: `force` reloads an unchanged version; see loadAfterPublish for `known` and `begun`. */
export interface LoadOptions {
  readonly force?: boolean;
  readonly known?: KnownFiles;
  readonly begun?: number;
}

/** One load asked of loadVersions: a version of one of the analyzer's partitions. */
export interface VersionLoad {
  readonly analyzer: Analyzer;
  readonly version: VersionRow;
  readonly opts?: LoadOptions;
}

function outcomeBase(ctx: LoadContext, analyzer: Analyzer, v: VersionRow) {
  return {
    analyzer: analyzer.name,
    partition: v.partition_id,
    table: loadTarget(analyzer).name,
    warehouse: ctx.warehouse?.display ?? warehouseDisplay(ctx.project),
    version: Number(v.seq),
  };
}

// Recorded pending before the warehouse is touched, so a load killed mid-way is still owed. `begun`: the publishing
// attempt recorded this version's load as pending with its own outcome (one commit less).
async function beginLoad(ctx: LoadContext, { analyzer, version: v, opts }: VersionLoad): Promise<void> {
  if (opts?.begun === Number(v.seq)) return;
  await ctx.store.loads.begin({
    analyzer: analyzer.name,
    partitionId: v.partition_id,
    versionSeq: Number(v.seq),
    table: loadTarget(analyzer).name,
  });
}

async function loadRequest(ctx: LoadContext, { analyzer, version: v, opts }: VersionLoad): Promise<LoadRequest> {
  const seq = Number(v.seq);
  return {
    table: loadTarget(analyzer),
    source: await readVersionSource(analyzer.name, analyzer.grain, v, { known: opts?.known }),
    force: opts?.force,
    isCurrent: async () => Number((await ctx.store.getPartition(analyzer.name, v.partition_id))?.published_seq) === seq,
  };
}

function finished(r: LoadResult): LoadRecordOutcome {
  return r.status === 'superseded'
    ? { status: 'superseded' }
    : { status: 'loaded', rows: r.rows, checksum: r.checksum };
}

function outcomeOf(base: ReturnType<typeof outcomeBase>, r: LoadResult, t0: number): LoadOutcome {
  return {
    ...base,
    status: r.status,
    rows: r.rows,
    checksum: r.checksum,
    previousVersion: r.previousVersion,
    tableCreated: r.tableCreated,
    columnsAdded: r.columnsAdded,
    steps: r.steps,
    ms: performance.now() - t0,
  };
}

/**
 * Load one version of a partition and record it in the state store: pending before the warehouse is touched
 * (so a load killed mid-way is still owed), then loaded, superseded, pending or failed with the error. Never
 * throws for a load failure: the outcome carries it (passwords masked).
 */
export async function loadVersion(
  ctx: LoadContext,
  analyzer: Analyzer,
  v: VersionRow,
  opts: LoadOptions = {},
): Promise<LoadOutcome> {
  const t0 = performance.now();
  const base = outcomeBase(ctx, analyzer, v);
  const seq = base.version;
  await beginLoad(ctx, { analyzer, version: v, opts });
  let opened: Warehouse | undefined;
  try {
    const req = await loadRequest(ctx, { analyzer, version: v, opts });
    const wh = ctx.warehouse ?? (opened = await openWarehouse(ctx.project.warehouseUrl, ctx.project.dir));
    const r = await wh.load(req);
    await ctx.store.loads.finish(analyzer.name, v.partition_id, seq, finished(r));
    return outcomeOf(base, r, t0);
  } catch (err) {
    const error = redactError(asRecountError(err, 'WAREHOUSE_LOAD'), ctx.project.warehouseUrl);
    const status = loadStatusFor(error);
    await ctx.store.loads.finish(analyzer.name, v.partition_id, seq, {
      status,
      error: { code: error.code, message: error.message, hint: error.hint },
    });
    return { ...base, status, ms: performance.now() - t0, error: withLoadNote(error, status, analyzer.name) };
  } finally {
    await opened?.close();
  }
}

/**
 * Load several versions through the context's open warehouse and record them: in one warehouse transaction and one
 * state-store transaction where the warehouse takes batches (a DuckDB file: one commit for all instead of one each),
 * else one after another. When the batch fails, nothing of it was committed: each is loaded again on its own, so one
 * bad version holds back no other and each failure is recorded with its own error. Never throws for a load failure.
 */
export async function loadVersions(ctx: LoadContext, loads: readonly VersionLoad[]): Promise<LoadOutcome[]> {
  const batch = ctx.warehouse?.loadBatch?.bind(ctx.warehouse);
  let begun: Set<VersionLoad> | undefined;
  if (loads.length > 1 && batch) {
    const t0 = performance.now();
    begun = new Set<VersionLoad>();
    try {
      for (const l of loads) {
        await beginLoad(ctx, l);
        begun.add(l);
      }
      const results = await batch(await Promise.all(loads.map((l) => loadRequest(ctx, l))));
      await ctx.store.loads.finishMany(
        results.map((r, i) => ({
          analyzer: loads[i]!.analyzer.name,
          partitionId: r.partition,
          versionSeq: r.version,
          outcome: finished(r),
        })),
      );
      return results.map((r, i) => outcomeOf(outcomeBase(ctx, loads[i]!.analyzer, loads[i]!.version), r, t0));
    } catch {
      // One by one below.
    }
  }
  const out: LoadOutcome[] = [];
  for (const l of loads) {
    // A load the batch recorded as begun is not counted as a second try.
    const opts = begun?.has(l) ? { ...l.opts, begun: Number(l.version.seq) } : l.opts;
    out.push(await loadVersion(ctx, l.analyzer, l.version, opts));
  }
  return out;
}

/** Load the published version of a partition; VERSION_NOT_FOUND when nothing is published yet. */
export async function loadPublished(
  ctx: LoadContext,
  analyzer: Analyzer,
  partitionId: string,
  opts: LoadOptions = {},
): Promise<LoadOutcome> {
  const v = await ctx.store.publishedVersion(analyzer.name, partitionId);
  if (!v) {
    throw new RecountError(
      'VERSION_NOT_FOUND',
      `${analyzer.name} ${partitionId}: nothing is published, so there is nothing to load`,
      {
        subject: `${analyzer.name} ${partitionId}`,
        hint: `run it first: recount run ${analyzer.name} --partition ${partitionId}`,
      },
    );
  }
  return loadVersion(ctx, analyzer, v, opts);
}

/**
 * The load that follows a publish: never throws, so a failed load leaves the publish in place. The outcome
 * says pending or failed (with the error) and the state store owes the load to `recount load --pending`.
 * `known`: the publishing attempt's own hashes of its version's files, which the load then does not read again;
 * `begun`: the version whose load the attempt already recorded as pending (see AttemptOutcome.owedLoad).
 */
export async function loadAfterPublish(
  ctx: LoadContext,
  analyzer: Analyzer,
  partitionId: string,
  opts: { known?: KnownFiles; begun?: number } = {},
): Promise<LoadOutcome | undefined> {
  if (!analyzer.load) return undefined;
  try {
    return await loadPublished(ctx, analyzer, partitionId, opts);
  } catch (err) {
    const error = redactError(asRecountError(err, 'WAREHOUSE_LOAD'), ctx.project.warehouseUrl);
    return {
      analyzer: analyzer.name,
      partition: partitionId,
      table: analyzer.load.table,
      warehouse: warehouseDisplay(ctx.project),
      version: 0,
      status: 'pending',
      ms: 0,
      error,
    };
  }
}

/** A warning line for a load that did not happen, telling what stays and how to retry. */
export function loadWarning(o: LoadOutcome): string {
  const retry =
    o.status === 'failed'
      ? `fix the cause, then: recount load ${o.analyzer} --pending`
      : `retry with: recount load ${o.analyzer} --pending`;
  return `${o.analyzer} ${o.partition}: published v${o.version}, but loading it into ${o.table} ${o.status === 'failed' ? 'failed' : 'did not finish'}: [${o.error?.code}] ${o.error?.message}. The table keeps its previous rows; the load is recorded as ${o.status} — ${retry}`;
}

/**
 * Published partitions of an analyzer whose table does not hold the published version (never loaded, or a
 * newer version since): what `recount load <analyzer>` catches up on.
 */
export async function partitionsBehind(store: StateStore, analyzer: Analyzer, wh: Warehouse): Promise<VersionRow[]> {
  const table = loadTarget(analyzer);
  const loaded = new Map((await wh.loads(table.name)).map((l) => [l.partition, l.version]));
  const out: VersionRow[] = [];
  for (const p of await store.listPartitions(analyzer.name)) {
    if (p.published_seq === null || loaded.get(p.partition_id) === Number(p.published_seq)) continue;
    const v = await store.getVersion(analyzer.name, p.partition_id, Number(p.published_seq));
    if (v) out.push(v);
  }
  return out;
}

/** Open the project's warehouse (duckdb:<file> or postgres://…, from recount.config.ts or RECOUNT_WAREHOUSE). */
export function openProjectWarehouse(project: Project): Promise<Warehouse> {
  return openWarehouse(project.warehouseUrl, project.dir);
}
