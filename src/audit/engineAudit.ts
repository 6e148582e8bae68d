import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Analyzer, EngineChoice, Project } from '../config/project.ts';
import { getAnalyzer } from '../config/project.ts';
import { parsePartition } from '../catalog/partition.ts';
import { OutputLayout } from '../commit/paths.ts';
import type { Engine } from '../engine/engine.ts';
import { asRecountError } from '../errors.ts';
import { openStateStore } from '../state/open.ts';
import type { StateStore } from '../state/store.ts';
import { runPartition } from '../run/runPartition.ts';
import { withDiffSession } from '../diff/diffVersions.ts';
import type { Tolerance } from '../diff/tolerance.ts';
import { namespaceProject } from '../shadow/namespaceProject.ts';
import { assertEngineReachable, engineChoiceFor, type EngineName } from '../shadow/otherEngine.ts';
import { auditRoot } from './runAudit.ts';
import { compareEngines, type EngineComparison, type EngineResult, type EngineRun } from './compareEngines.ts';

export type { EngineComparison, EngineRun } from './compareEngines.ts';

/** Options of `recount audit --engines a,b`. */
export interface EngineAuditOptions {
  /** The analyzers to audit (default: every one). */
  readonly analyzers?: readonly string[];
  readonly engines: readonly EngineName[];
  /** The partitions to run (default: the newest `sample` published ones of each analyzer). */
  readonly partition?: string;
  readonly sample: number;
  readonly tolerance: Tolerance;
  readonly samples?: number;
  /** Keep the scratch runs (under `<output>/.recount/audit/`) for inspection. */
  readonly keep?: boolean;
  /** Called after each partition is compared, for a line of progress. */
  readonly onPartition?: (analyzer: string, p: EnginePartition) => void;
}

/** One partition of one analyzer on every engine, and each engine's output diffed against the first's. */
export interface EnginePartition {
  readonly partition: string;
  readonly runs: EngineRun[];
  readonly comparisons: EngineComparison[];
  /** Every engine ran it and every diff is within the tolerance. */
  readonly agree: boolean;
}

/** The verdict for one analyzer. */
export interface EngineAnalyzerReport {
  readonly analyzer: string;
  readonly partitions: EnginePartition[];
  /** True when every partition agrees; also when there was nothing to compare (see `skipped`). */
  readonly agree: boolean;
  /** Why no partition was compared (nothing published and no --partition). */
  readonly skipped?: string;
}

/** The whole cross-engine audit. */
export interface EngineAuditReport {
  readonly engines: EngineName[];
  readonly tolerance: Tolerance;
  readonly analyzers: EngineAnalyzerReport[];
  /** False when some analyzer's engines disagree or a run failed. */
  readonly agree: boolean;
  /** The scratch runs, when kept. */
  readonly scratch: string | null;
}

/** A scratch namespace per engine: the project as it sees it, and its own state store. */
interface EngineScratch {
  readonly engine: EngineName;
  readonly project: Project;
  readonly store: StateStore;
}

/** The partitions to compare: the one asked for, else the newest `sample` published ones. */
async function partitionsOf(store: StateStore, a: Analyzer, opts: EngineAuditOptions): Promise<string[]> {
  if (opts.partition) return [parsePartition(opts.partition, a.grain).id];
  const published = (await store.listPartitions(a.name)).filter((p) => p.published_seq !== null);
  return published
    .map((p) => p.partition_id)
    .sort()
    .slice(-opts.sample);
}

/** Run one partition on one engine's scratch namespace. */
async function runOn(
  s: EngineScratch,
  ctx: { project: Project; engine: Engine },
  name: string,
  partition: string,
): Promise<Omit<EngineResult, 'store'>> {
  const production = getAnalyzer(ctx.project, name);
  const analyzer = {
    ...getAnalyzer(s.project, name),
    engineChoice: engineChoiceFor(ctx.project, production, s.engine),
  };
  const r = await runPartition({ project: s.project, store: s.store, engine: ctx.engine }, analyzer, partition, {
    trigger: 'audit',
  });
  if (r.status === 'succeeded' && r.version !== undefined) return { engine: s.engine, version: r.version };
  const e = r.error ?? asRecountError(new Error(r.warnings.at(-1) ?? 'not published'));
  return { engine: s.engine, error: { code: e.code, message: e.message, hint: e.hint } };
}

/** Audit one analyzer: each sampled partition on every engine, diffed against the first engine's output. */
async function auditAnalyzer(
  ctx: { project: Project; store: StateStore; engine: Engine },
  scratches: readonly EngineScratch[],
  name: string,
  opts: EngineAuditOptions,
): Promise<EngineAnalyzerReport> {
  const partitionIds = await partitionsOf(ctx.store, getAnalyzer(ctx.project, name), opts);
  if (!partitionIds.length)
    return { analyzer: name, partitions: [], agree: true, skipped: 'nothing published to sample (give --partition)' };
  const partitions: EnginePartition[] = [];
  for (const partition of partitionIds) {
    const results: EngineResult[] = [];
    for (const s of scratches) results.push({ ...(await runOn(s, ctx, name, partition)), store: s.store });
    const compared = await withDiffSession({ engine: ctx.engine, spillDir: ctx.project.spillDir }, (session) =>
      compareEngines(session, name, partition, results, { tolerance: opts.tolerance, samples: opts.samples }),
    );
    const p = { partition, ...compared };
    partitions.push(p);
    opts.onPartition?.(name, p);
  }
  return { analyzer: name, partitions, agree: partitions.every((p) => p.agree) };
}

/** Open a scratch namespace for each engine under one audit folder, into `out` (the caller closes them). */
async function openScratches(
  project: Project,
  dir: string,
  engines: readonly EngineName[],
  out: EngineScratch[],
): Promise<void> {
  for (const engine of engines) {
    const p = namespaceProject(project, join(dir, engine, 'out'), join(dir, engine, 'state.db'));
    mkdirSync(join(dir, engine), { recursive: true });
    out.push({ engine, project: p, store: await openStateStore(p.stateUrl, p.dir) });
  }
}

/**
 * Run analyzers on two or more engines over production's inputs (scratch namespaces: no publish, no load, the
 * published versions untouched) and diff each engine's output against the first's with the row diff: keys equal,
 * integers equal, floats within the tolerance. Every Spark server is asked for first, so an unreachable one is
 * one error naming it before anything runs.
 */
export async function auditEngines(
  ctx: { project: Project; store: StateStore; engine: Engine },
  opts: EngineAuditOptions,
): Promise<EngineAuditReport> {
  const names = opts.analyzers?.length ? [...opts.analyzers] : [...ctx.project.analyzers.keys()].sort();
  const choices = new Map<string, EngineChoice>();
  for (const name of names) {
    const a = getAnalyzer(ctx.project, name);
    for (const e of opts.engines) {
      const c = engineChoiceFor(ctx.project, a, e);
      choices.set(JSON.stringify(c), c);
    }
  }
  for (const c of choices.values()) await assertEngineReachable(c);
  const dir = join(
    auditRoot(new OutputLayout(ctx.project.outputRoot)),
    `engines-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`,
  );
  mkdirSync(dir, { recursive: true });
  const scratches: EngineScratch[] = [];
  try {
    await openScratches(ctx.project, dir, opts.engines, scratches);
    const analyzers: EngineAnalyzerReport[] = [];
    for (const name of names) analyzers.push(await auditAnalyzer(ctx, scratches, name, opts));
    const scratch = opts.keep ? dir : null;
    return {
      engines: [...opts.engines],
      tolerance: opts.tolerance,
      analyzers,
      agree: analyzers.every((a) => a.agree),
      scratch,
    };
  } finally {
    for (const s of scratches) await s.store.close();
    if (!opts.keep) rmSync(dir, { recursive: true, force: true });
  }
}
