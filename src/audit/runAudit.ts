import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Analyzer, Project } from '../config/project.ts';
import { getAnalyzer } from '../config/project.ts';
import { parsePartition, type Partition } from '../catalog/partition.ts';
import { OutputLayout } from '../commit/paths.ts';
import type { Engine } from '../engine/engine.ts';
import { asRecountError, RecountError } from '../errors.ts';
import { resolveInputs } from '../run/fingerprint.ts';
import { openStateStore } from '../state/open.ts';
import { runPartition, type RunContext } from '../run/runPartition.ts';
import { withDiffSession } from '../diff/diffVersions.ts';
import type { Tolerance } from '../diff/tolerance.ts';
import { openVersion } from '../diff/versionFiles.ts';
import { namespaceProject } from '../shadow/namespaceProject.ts';
import { compareRuns, type AuditedRun, type RunComparison } from './compareRuns.ts';
import type { LintFinding } from './lint.ts';
import { lintAnalyzer } from './lintAnalyzer.ts';
import { viewPartitionInputs } from './inputViews.ts';

/** Thread counts the runs of an audit use, in order: different ones, so a parallelism-dependent result shows. */
export const AUDIT_THREADS = [1, 2, 4, 3, 8, 6, 5, 7];

/** One run of an audit. */
export interface AuditRun {
  readonly run: number;
  readonly threads: number;
  readonly status: 'succeeded' | 'failed';
  readonly rows?: number;
  readonly files?: { path: string; rows: number; sha256: string }[];
  readonly error?: { code: string; message: string; hint?: string };
}

/** What an audit found. */
export interface AuditReport {
  readonly analyzer: string;
  readonly partition: string;
  readonly runs: AuditRun[];
  readonly lint: LintFinding[];
  /** Undefined when fewer than two runs succeeded. */
  readonly comparison?: RunComparison;
  /** Columns whose values differ between runs in any bit. */
  readonly varyingColumns: string[];
  /** Columns whose values differ between runs beyond the tolerance. */
  readonly unstableColumns: string[];
  readonly tolerance: Tolerance;
  /** One line per problem; empty when the analyzer is deterministic on this partition. */
  readonly problems: string[];
  /** The scratch namespace, when kept. */
  readonly scratch: string | null;
}

/** Options of an audit. */
export interface AuditOptions {
  readonly analyzer: string;
  readonly partition: string;
  readonly runs: number;
  readonly tolerance: Tolerance;
  /** Keep the scratch namespace (under `<output>/.recount/audit/`) for inspection. */
  readonly keep?: boolean;
  readonly onRun?: (run: AuditRun) => void;
}

/** Where audits run: `<output>/.recount/audit`, outside any reader's glob; `recount gc` removes what was kept. */
export function auditRoot(layout: OutputLayout): string {
  return join(layout.internal, 'audit');
}

/**
 * An audit of a partition whose inputs are not ready could only fail N times: refuse it once, as bad usage
 * (exit 2), naming the missing input as a run would.
 */
function assertInputsReady(project: Project, analyzer: Analyzer, partition: Partition): void {
  try {
    resolveInputs(project, analyzer, partition);
  } catch (err) {
    const e = asRecountError(err);
    if (e.code !== 'PARTITION_NOT_READY') throw e;
    throw new RecountError('USAGE', `cannot audit ${analyzer.name} ${partition.id}: ${e.message}`, {
      subject: e.subject ?? `${analyzer.name} ${partition.id}`,
      hint: `audit a partition whose inputs are ready${e.hint ? ` (${e.hint})` : ''}`,
      cause: err,
    });
  }
}

/** Run one partition `opts.runs` times with different thread counts into a scratch store; stop after a first failure. */
async function runRepeatedly(
  ctx: RunContext,
  analyzer: Analyzer,
  partition: Partition,
  opts: AuditOptions,
): Promise<{ runs: AuditRun[]; audited: AuditedRun[] }> {
  const runs: AuditRun[] = [];
  const audited: AuditedRun[] = [];
  for (let i = 0; i < opts.runs; i++) {
    const threads = AUDIT_THREADS[i % AUDIT_THREADS.length]!;
    const r = await runPartition(ctx, analyzer, partition.id, { threads, trigger: 'audit' });
    let run: AuditRun;
    if (r.status === 'succeeded' && r.version !== undefined) {
      const v = await openVersion(ctx.store, analyzer.name, partition.id, r.version);
      audited.push({ run: i + 1, threads, manifest: v.manifest, files: v.files });
      const files = v.manifest.files.map(({ path, rows, sha256 }) => ({ path, rows, sha256 }));
      run = { run: i + 1, threads, status: 'succeeded', rows: v.manifest.rows, files };
    } else {
      const e = r.error ?? asRecountError(new Error(r.warnings.at(-1) ?? 'not published'));
      run = { run: i + 1, threads, status: 'failed', error: { code: e.code, message: e.message, hint: e.hint } };
    }
    runs.push(run);
    opts.onRun?.(run);
    // Nothing to compare the other runs with: they would fail the same way, N times over.
    if (i === 0 && run.status === 'failed') break;
  }
  return { runs, audited };
}

/** Lint the SQL (with its output columns, when it plans over the partition's inputs) and compare the runs that succeeded. */
async function lintAndCompare(
  env: { project: Project; engine: Engine; spillDir: string },
  analyzer: Analyzer,
  partition: Partition,
  audited: AuditedRun[],
  tolerance: Tolerance,
): Promise<{ lint: LintFinding[]; comparison?: RunComparison }> {
  return withDiffSession({ engine: env.engine, spillDir: env.spillDir }, async (session) => {
    let columns: Awaited<ReturnType<typeof session.describe>> | undefined;
    try {
      await viewPartitionInputs(session, env.project, analyzer, partition);
      columns = await session.describe(analyzer.sql);
    } catch {
      columns = undefined; // the runs report why the query does not run; lint what parses
    }
    const lint = await lintAnalyzer(session, analyzer, columns);
    const comparison = audited.length >= 2 ? await compareRuns(session, audited, tolerance) : undefined;
    return { lint, comparison };
  });
}

/** One line per problem the runs, their comparison and the lint show; lint errors last (the CLI prints those apart). */
function problemsOf(
  runs: AuditRun[],
  comparison: RunComparison | undefined,
  lint: LintFinding[],
  tolerance: Tolerance,
): string[] {
  const problems: string[] = [];
  for (const r of runs.filter((x) => x.status === 'failed'))
    problems.push(`run ${r.run} (threads ${r.threads}) failed: [${r.error?.code}] ${r.error?.message}`);
  if (comparison) {
    if (comparison.keyMoves > 0)
      problems.push(`${comparison.keyMoves} key(s) landed in a different file between runs (I3 requires 0)`);
    if (comparison.rowSetChanges > 0)
      problems.push(
        `the set of keys differs between runs (${comparison.rowSetChanges} keys added, removed or duplicated)`,
      );
    for (const c of comparison.columns.filter((x) => x.keysBeyondTolerance > 0)) {
      problems.push(
        `column ${c.column} (${c.type}) differs between runs for ${c.keysBeyondTolerance} key(s)${c.float ? ` beyond the tolerance (abs ${tolerance.abs}, rel ${tolerance.rel})` : ''}`,
      );
    }
  }
  for (const f of lint.filter((x) => x.severity === 'error'))
    problems.push(`lint ${f.rule}${f.line ? ` (line ${f.line})` : ''}: ${f.message}`);
  return problems;
}

/**
 * Run one partition N times with different thread counts into a scratch namespace (production inputs,
 * no publish, no load) and compare the runs: columns whose values differ, keys that moved file (must be 0),
 * byte-identical files; lint the SQL for what would make a rerun disagree.
 */
export async function runAudit(ctx: { project: Project; engine: Engine }, opts: AuditOptions): Promise<AuditReport> {
  const production = getAnalyzer(ctx.project, opts.analyzer);
  const partition = parsePartition(opts.partition, production.grain);
  assertInputsReady(ctx.project, production, partition);
  const scratch = join(
    auditRoot(new OutputLayout(ctx.project.outputRoot)),
    `${production.name}-${partition.id}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`,
  );
  mkdirSync(scratch, { recursive: true });
  const project = namespaceProject(ctx.project, join(scratch, 'out'), join(scratch, 'state.db'));
  // Every run stays until the comparison: a scratch run must not prune the versions of earlier runs.
  const analyzer = { ...getAnalyzer(project, production.name), versionsToKeep: opts.runs + 1 };
  const store = await openStateStore(project.stateUrl, project.dir);
  try {
    const { runs, audited } = await runRepeatedly({ project, store, engine: ctx.engine }, analyzer, partition, opts);
    const env = { project, engine: ctx.engine, spillDir: ctx.project.spillDir };
    const { lint, comparison } = await lintAndCompare(env, analyzer, partition, audited, opts.tolerance);
    const columns = comparison?.columns ?? [];
    return {
      analyzer: analyzer.name,
      partition: partition.id,
      runs,
      lint,
      comparison,
      varyingColumns: columns.filter((c) => c.keysDiffering > 0).map((c) => c.column),
      unstableColumns: columns.filter((c) => c.keysBeyondTolerance > 0).map((c) => c.column),
      tolerance: opts.tolerance,
      problems: problemsOf(runs, comparison, lint, opts.tolerance),
      scratch: opts.keep ? scratch : null,
    };
  } finally {
    await store.close();
    if (!opts.keep) rmSync(scratch, { recursive: true, force: true });
  }
}
