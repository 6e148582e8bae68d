import { rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Analyzer, Project } from '../config/project.ts';
import { parsePartition, type Partition } from '../catalog/partition.ts';
import { combinedFingerprint, layoutMatches, resolveInputs } from './fingerprint.ts';
import { HOLD_RESPECTING_TRIGGERS } from './hold.ts';
import type { Engine, EngineSession } from '../engine/engine.ts';
import { engineFor } from '../engine/select.ts';
import { asRecountError, RecountError } from '../errors.ts';
import { engineResourceError } from '../engine/resourceError.ts';
import { barrierPoint, exhaustHeapFault, faultPoint, transientFault } from '../fault.ts';
import { chooseKeys } from '../layout/keys.ts';
import { versionTag, writeLayout } from '../layout/bucketing.ts';
import { runChecks } from '../checks/runChecks.ts';
import { blocksPublish, type CheckResult } from '../checks/check.ts';
import { readManifest, writeManifestAndFolder } from '../commit/manifest.ts';
import { buildManifest } from './buildManifest.ts';
import { hashAndFlush } from '../commit/stagedFile.ts';
import { OutputLayout } from '../commit/paths.ts';
import { publishVersion, pruneVersions } from '../commit/publish.ts';
import { currentProcToken, HOST } from '../process/identity.ts';
import { ensureDir, ensureDirDurable } from '../fs/ensureDir.ts';
import type { StateStore } from '../state/store.ts';
import { MemorySampler } from '../observe/memorySampler.ts';
import { EngineSampler } from '../observe/engineSampler.ts';
import { planMemory } from '../worker/budget.ts';
import { sparkRetrySettings } from './sparkRetry.ts';
import { RECOUNT_VERSION } from '../version.ts';
import { loadAfterPublish, loadTableOf, loadWarning, type LoadOutcome } from '../warehouse/loader.ts';
import type { Warehouse } from '../warehouse/warehouse.ts';
import {
  assertSameInputSchema,
  checkInputFiles,
  createInputViews,
  explainRunError,
  type CheckedInput,
} from './inputs.ts';

/** What a run needs: the project, its state store and an engine. */
export interface RunContext {
  readonly project: Project;
  readonly store: StateStore;
  readonly engine: Engine;
  /** An open warehouse to load into after publish (a backfill opens it once); without it each load opens its own. */
  readonly warehouse?: Warehouse;
}

/** Options of one run of one partition. */
export interface RunOptions {
  readonly trigger?: string;
  readonly threads?: number;
  readonly memoryBytes?: number;
  /** Accept an input column whose type changed since the published version. */
  readonly acceptSchemaChange?: boolean;
  /** Lose the publish if a rollback holds the partition (default: for the daemon's triggers and backfill; see src/run/hold.ts). */
  readonly respectHold?: boolean;
  /** Use this attempt id (a daemon names the attempt before handing it to a worker). */
  readonly attemptId?: string;
}

/** The result of one attempt. */
export interface AttemptResult {
  readonly analyzer: string;
  readonly partition: string;
  readonly attemptId: string;
  readonly status: 'succeeded' | 'failed' | 'superseded';
  readonly version?: number;
  readonly rows?: number;
  readonly files?: number;
  readonly bytes?: number;
  readonly keys?: string[];
  readonly checks: CheckResult[];
  readonly warnings: string[];
  readonly durationMs: number;
  readonly peakRssBytes: number;
  readonly spillBytes?: number;
  readonly duckdbPeakBytes?: number;
  readonly publishedPath?: string;
  /** The warehouse load that followed the publish (analyzers with `load`); a failed one leaves the publish in place. */
  readonly load?: LoadOutcome;
  readonly error?: RecountError;
}

/**
 * Triggers of runs `recount serve` queued by itself (new or changed input, SQL or layout; a schedule). Such a run
 * has nothing to add when an identical version (same input fingerprint, SQL and layout) was published while it
 * ran, e.g. by the attempt a killed daemon left behind, rolled forward by recovery: it is superseded instead of
 * publishing a second copy. Runs a user asked for (run, backfill, a dashboard rerun, audit, bench) still publish.
 */
const DAEMON_TRIGGERS = new Set(['new-data', 'changed-input', 'changed-sql', 'changed-layout', 'schedule']);

/** Analyzer definitions already recorded per store in this process: a backfill or a worker records each once, not per attempt (one fsync less). */
const recordedAnalyzers = new WeakMap<StateStore, Map<string, string>>();

/** A new attempt id: sortable by time, unique across processes and machines. */
export function newAttemptId(): string {
  return `${Date.now().toString(36)}-${randomBytes(5).toString('hex')}`;
}

function stagingError(err: unknown, root: string): RecountError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC') return asRecountError(err);
  return new RecountError('OUTPUT_NOT_WRITABLE', `output root ${root} is not writable: ${(err as Error).message}`, {
    subject: root,
    hint: 'point output (recount.config.ts or RECOUNT_OUTPUT) at a folder recount can write, or fix its permissions',
    cause: err,
  });
}

/**
 * Run one analyzer on one partition as one attempt: inputs -> query -> deterministic files in private
 * staging -> blocking checks -> manifest -> atomic publish. Whatever fails, the previous version stays
 * published; the attempt and its error are recorded.
 */
export async function runPartition(
  ctx: RunContext,
  analyzer: Analyzer,
  partitionId: string,
  opts: RunOptions = {},
): Promise<AttemptResult> {
  const started = Date.now();
  const partition: Partition = parsePartition(partitionId, analyzer.grain);
  const { project, store } = ctx;
  const engine = engineFor(analyzer, ctx.engine);
  const layout = new OutputLayout(project.outputRoot);
  const attemptId = opts.attemptId ?? newAttemptId();
  const stagingDir = layout.stagingDir(attemptId);
  const spillDir = join(project.spillDir, attemptId);
  const threads = opts.threads ?? analyzer.threadCount;
  // Without an explicit DuckDB limit, DuckDB gets its share of the analyzer's whole budget (src/worker/budget.ts).
  const memoryBytes = opts.memoryBytes ?? planMemory(analyzer.memoryBytes, threads).duckdbBytes;
  const warnings: string[] = [];
  const timings: Record<string, number> = {};
  let checks: CheckResult[] = [];
  const sampler = new MemorySampler();
  let session: EngineSession | undefined;
  let engineSampler: EngineSampler | undefined;
  let enginePeaks = { peakMemoryBytes: 0, peakSpillBytes: 0 };
  let claimed = false;

  // DuckDB starts (a new instance, on its own threads) while the state store records the attempt: on a small
  // partition both are a large part of the run. The session is taken inside the attempt, or closed unused.
  // After out-of-memory attempts of this partition, a Spark attempt runs with smaller tasks (and says so).
  const sparkRetry = engine.name === 'spark' ? await sparkRetrySettings(store, analyzer, partition.id) : undefined;
  if (sparkRetry) warnings.push(sparkRetry.note);
  const opening = engine.open({ memoryBytes, threads, spillDir, ...(sparkRetry ? { conf: sparkRetry.conf } : {}) });
  opening.catch(() => undefined);
  let sessionTaken = false;
  const closeUntaken = async () => {
    if (!sessionTaken) (await opening.catch(() => undefined))?.close();
    sessionTaken = true;
  };

  let baseSeq: number;
  try {
    const recorded = `${analyzer.file}\0${analyzer.sqlHash}\0${analyzer.grain}`;
    if (recordedAnalyzers.get(store)?.get(analyzer.name) !== recorded) {
      await store.upsertAnalyzer({
        name: analyzer.name,
        file: analyzer.file,
        sqlHash: analyzer.sqlHash,
        grain: analyzer.grain,
      });
      if (!recordedAnalyzers.has(store)) recordedAnalyzers.set(store, new Map());
      recordedAnalyzers.get(store)!.set(analyzer.name, recorded);
    }
    ({ baseSeq } = await store.beginAttempt({
      runId: attemptId,
      attemptId,
      analyzer: analyzer.name,
      partitionId: partition.id,
      trigger: opts.trigger ?? 'run',
      pid: process.pid,
      host: HOST,
      procToken: currentProcToken(),
      threads,
      memoryBytes,
      stagingDir,
      ...(sparkRetry ? { sparkConf: sparkRetry.conf } : {}),
    }));
  } catch (err) {
    sampler.stop();
    await closeUntaken();
    removeQuietly(spillDir);
    throw err;
  }

  const lap = (name: string, since: number) => {
    timings[name] = Date.now() - since;
    return Date.now();
  };

  try {
    let t = Date.now();
    transientFault(analyzer.name);
    exhaustHeapFault();
    const resolved = resolveInputs(project, analyzer, partition);
    const inputFingerprint = combinedFingerprint(resolved);
    try {
      ensureDirDurable(stagingDir);
    } catch (err) {
      throw stagingError(err, project.outputRoot);
    }
    sessionTaken = true;
    session = await opening;
    engineSampler = new EngineSampler(session);
    const previous = await store.publishedVersion(analyzer.name, partition.id);
    const previousManifest = previous ? readManifest(previous.dir) : undefined;
    const inputs: CheckedInput[] = [];
    for (const r of resolved) {
      const checked = await checkInputFiles(session, r);
      // Types are compared in one engine's words: after an engine switch the previous version's are another's.
      const sameEngine = previousManifest?.provenance.engine === session.engine;
      assertSameInputSchema(
        checked,
        sameEngine ? previousManifest?.provenance.inputs.find((i) => i.dataset === r.dataset.name) : undefined,
        partition.id,
        opts.acceptSchemaChange ?? false,
      );
      inputs.push(checked);
    }
    await createInputViews(session, inputs, partition);
    t = lap('inputs', t);

    let columns: Awaited<ReturnType<typeof session.describe>>;
    try {
      columns = await session.describe(analyzer.sql);
    } catch (err) {
      throw await explainRunError(session, err, analyzer.file, partition, inputs);
    }
    const keyChoice = await chooseKeys(session, {
      sql: analyzer.sql,
      declared: analyzer.keys,
      columns,
      file: analyzer.file,
    });
    if (keyChoice.warning) warnings.push(keyChoice.warning);
    t = lap('plan', t);

    let written: Awaited<ReturnType<typeof session.writeLayout>>;
    try {
      written = await session.writeLayout({
        sql: analyzer.sql,
        keys: keyChoice.keys,
        files: analyzer.fileCount,
        dir: stagingDir,
        tag: versionTag(attemptId),
        previousFileCount: previousManifest?.layout.files,
      });
    } catch (err) {
      throw await explainRunError(session, err, analyzer.file, partition, inputs);
    }
    faultPoint('after-files-staged');
    t = lap('query_and_write', t);

    try {
      checks = await runChecks({
        session,
        dir: stagingDir,
        files: written.files,
        keys: keyChoice.keys,
        checks: analyzer.checks,
      });
    } catch (err) {
      // The built-in checks read every staged row: out of memory there is the attempt's, retried smaller.
      throw (
        engineResourceError(err, analyzer.file, `${analyzer.file}: ${partition.id} (checks)`) ?? asRecountError(err)
      );
    }
    // The check results are recorded with the attempt's outcome, in the same transaction (one commit less).
    if (blocksPublish(checks)) {
      const failed = checks.filter((c) => !c.passed && c.severity === 'error');
      const first = failed[0]!;
      throw new RecountError(
        'CHECK_FAILED',
        `${analyzer.name} ${partition.id}: check ${failed.map((c) => `'${c.name}'`).join(', ')} failed: ${first.message}`,
        {
          subject: `${analyzer.file}: checks.${first.name}`,
          hint: `nothing was published; the previous version stays. See the sample rows with 'recount status ${analyzer.name} --partition ${partition.id} --json', then fix the data or the SQL`,
          details: { checks: failed.map((c) => ({ name: c.name, failing: c.failing, sample: c.sample })) },
        },
      );
    }
    t = lap('checks', t);

    // Hash and flush every staged file at once (not file after file), each in one pass through one open file: all
    // are durable before the manifest names them. DuckDB's last memory sample is taken while they are hashed.
    const [files, peaks] = await Promise.all([
      Promise.all(
        written.files.map(async (f) => {
          const { sha256, bytes } = await hashAndFlush(join(stagingDir, f.name));
          return { path: f.name, rows: f.rows, bytes, sha256 };
        }),
      ),
      engineSampler.stop(),
    ]);
    enginePeaks = peaks;
    const rows = files.reduce((s, f) => s + f.rows, 0);
    const bytes = files.reduce((s, f) => s + f.bytes, 0);
    const seq = baseSeq + 1;
    const peakRssBytes = sampler.stop();
    const manifest = buildManifest({
      analyzer,
      partition,
      seq,
      attemptId,
      createdAt: new Date(),
      files,
      columns,
      keys: keyChoice,
      fileCount: written.fileCount,
      engine: { name: session.engine, version: session.version, layoutScheme: session.layoutScheme },
      checks,
      inputs,
      inputFingerprint,
      run: { threads, memoryBytes, host: HOST, startedAt: new Date(started), timings, peakRssBytes, ...enginePeaks },
    });
    const engineVersion = session.version;
    session.close();
    session = undefined;
    const manifestSha256 = await writeManifestAndFolder(stagingDir, manifest);
    faultPoint('after-manifest');

    /** Not published, for `reason`: recorded as superseded (the staging goes in the finally below). */
    const superseded = async (reason: string): Promise<AttemptResult> => {
      await store.finishAttempt(attemptId, {
        status: 'superseded',
        checks,
        rows,
        bytes,
        files: files.length,
        peakRssBytes,
        inputFingerprint,
        timings,
        spillBytes: enginePeaks.peakSpillBytes,
        duckdbPeakBytes: enginePeaks.peakMemoryBytes,
        error: { code: 'PUBLISH_CONFLICT', message: reason },
      });
      return {
        analyzer: analyzer.name,
        partition: partition.id,
        attemptId,
        status: 'superseded',
        rows,
        files: files.length,
        bytes,
        keys: keyChoice.keys,
        checks,
        warnings: [...warnings, `not published: ${reason}`],
        durationMs: Date.now() - started,
        peakRssBytes,
      };
    };
    if (DAEMON_TRIGGERS.has(opts.trigger ?? '')) {
      const pub = await store.publishedVersion(analyzer.name, partition.id);
      if (
        pub &&
        pub.sql_hash === analyzer.sqlHash &&
        pub.input_fingerprint === inputFingerprint &&
        layoutMatches(analyzer, pub.dir)
      ) {
        return superseded(`an identical version v${pub.seq} (same input and SQL) was published meanwhile`);
      }
    }

    await barrierPoint('before-claim');
    const versionDir = layout.versionDir(analyzer.name, partition.id, seq);
    claimed = true;
    const result = await publishVersion(
      store,
      layout,
      {
        analyzer: analyzer.name,
        partitionId: partition.id,
        seq,
        attemptId,
        stagingDir,
        versionDir,
        rows,
        bytes,
        files: files.length,
        manifestSha256,
        inputFingerprint,
        sqlHash: analyzer.sqlHash,
        engineVersion,
        recountVersion: RECOUNT_VERSION,
        respectHold: opts.respectHold ?? HOLD_RESPECTING_TRIGGERS.has(opts.trigger ?? ''),
      },
      baseSeq,
    );
    lap('publish', t);
    if (!result.published) return superseded(result.reason);
    try {
      await pruneVersions(store, analyzer.name, partition.id, analyzer.versionsToKeep);
    } catch (err) {
      // The version is published: failing to remove old ones is housekeeping for the next publish, not a failed attempt.
      warnings.push(`old versions of ${partition.id} not pruned: ${(err as Error).message}`);
    }
    // The load that follows is recorded as owed (pending) in the same transaction as the attempt's success: a load
    // that then fails or is killed leaves the publish in place and is retried by recount load --pending.
    const owedTable = loadTableOf(analyzer);
    await store.finishAttempt(attemptId, {
      status: 'succeeded',
      checks,
      rows,
      bytes,
      files: files.length,
      peakRssBytes,
      inputFingerprint,
      versionSeq: seq,
      timings,
      spillBytes: enginePeaks.peakSpillBytes,
      duckdbPeakBytes: enginePeaks.peakMemoryBytes,
      owedLoad: owedTable ? { table: owedTable } : undefined,
    });
    // The files were hashed above from the bytes this attempt wrote: the load does not read them again for that.
    const load = await loadAfterPublish(ctx, analyzer, partition.id, {
      known: { version: seq, sha256: new Map(files.map((f) => [f.path, f.sha256])) },
      begun: owedTable ? seq : undefined,
    });
    if (load?.error) warnings.push(loadWarning(load));
    return {
      analyzer: analyzer.name,
      partition: partition.id,
      attemptId,
      status: 'succeeded',
      version: seq,
      rows,
      files: files.length,
      bytes,
      keys: keyChoice.keys,
      checks,
      warnings,
      durationMs: Date.now() - started,
      peakRssBytes,
      spillBytes: enginePeaks.peakSpillBytes,
      duckdbPeakBytes: enginePeaks.peakMemoryBytes,
      publishedPath: layout.publishedPath(analyzer.name, partition),
      load,
    };
  } catch (err) {
    const error = asRecountError(err);
    const peakRssBytes = sampler.stop();
    if (engineSampler) enginePeaks = await engineSampler.stop();
    await store.finishAttempt(attemptId, {
      status: error.code === 'OUT_OF_MEMORY' ? 'oom' : 'failed',
      checks,
      peakRssBytes,
      timings,
      spillBytes: enginePeaks.peakSpillBytes,
      duckdbPeakBytes: enginePeaks.peakMemoryBytes,
      error: { code: error.code, message: error.message, hint: error.hint },
    });
    return {
      analyzer: analyzer.name,
      partition: partition.id,
      attemptId,
      status: 'failed',
      checks,
      warnings,
      durationMs: Date.now() - started,
      peakRssBytes,
      spillBytes: enginePeaks.peakSpillBytes,
      duckdbPeakBytes: enginePeaks.peakMemoryBytes,
      error,
    };
  } finally {
    sampler.stop();
    await engineSampler?.stop();
    session?.close();
    await closeUntaken();
    if (!claimed) removeQuietly(stagingDir);
    removeQuietly(spillDir);
  }
}

// Cleanup must never replace the attempt's own error: under an unusable output root (a path beneath a
// regular file) rmSync throws ENOTDIR, which `force` does not ignore, and the user would see that instead.
function removeQuietly(path: string): void {
  try {
    rmSync(path, { recursive: true, force: true });
  } catch {
    // nothing was created there, or recovery removes it on the next start
  }
}
