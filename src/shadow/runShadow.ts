import type { Analyzer, Project } from '../config/project.ts';
import { getAnalyzer } from '../config/project.ts';
import { partitionRange } from '../catalog/partition.ts';
import { OutputLayout } from '../commit/paths.ts';
import { recover } from '../commit/recovery.ts';
import type { Engine, EngineSession } from '../engine/engine.ts';
import { asRecountError, RecountError } from '../errors.ts';
import { openStateStore } from '../state/open.ts';
import type { StateStore } from '../state/store.ts';
import { runPartition, type RunContext } from '../run/runPartition.ts';
import { diffRelations } from '../diff/diffRelations.ts';
import { withDiffSession } from '../diff/diffVersions.ts';
import type { Tolerance } from '../diff/tolerance.ts';
import { openVersion } from '../diff/versionFiles.ts';
import { loadDefinition } from './loadDefinition.ts';
import { defaultShadowName, shadowDefinitionHash } from './identity.ts';
import { assertSameDefinition, shadowNamespace, touchMeta, type Namespace } from './namespace.ts';
import { namespaceProject } from './namespaceProject.ts';
import { diffSide } from './diffSide.ts';
import { enginesDisagree } from './engineVerdict.ts';
import { assertEngineReachable, engineChoiceFor, type EngineName } from './otherEngine.ts';
import { failedPartition, totalsOf, type ShadowPartition, type ShadowReport } from './shadowReport.ts';
import { deadAttemptStopper } from '../engine/deadAttempts.ts';

export type { ShadowPartition, ShadowReport } from './shadowReport.ts';
export { defaultShadowName } from './identity.ts';

/** What a shadow run needs from production: the project, its state store and an engine. */
export interface ShadowContext {
  readonly project: Project;
  readonly store: StateStore;
  readonly engine: Engine;
}

/** Options of a shadow run. */
export interface ShadowOptions {
  readonly analyzer: string;
  /** The candidate analyzer file; without it, the analyzer's current definition (on `engine`). */
  readonly definitionFile?: string;
  /** Run on this engine instead of the analyzer's own (its remote from the config or RECOUNT_SPARK_REMOTE). */
  readonly engine?: EngineName;
  readonly from: string;
  readonly to: string;
  /** Namespace name (default: the definition file's name, else the analyzer's; `-<engine>` after it with `engine`). */
  readonly name?: string;
  readonly tolerance: Tolerance;
  readonly threads?: number;
  readonly samples?: number;
  /** Called before each partition runs and after it is compared, for a progress bar. */
  readonly onProgress?: (e: { partition: string; done: number; total: number; result?: ShadowPartition }) => void;
}

/** A shadow run set up: its namespace, the project as the namespace sees it, and the candidate analyzer in it. */
interface ShadowPlan {
  readonly ns: Namespace;
  readonly project: Project;
  readonly analyzer: Analyzer;
  readonly definition: { analyzer: string; definition: string; definitionSha256: string; engine: string };
  readonly warnings: string[];
}

/** A USAGE error unless the shadow has something to try: a candidate definition, another engine, or both. */
function assertSomethingToTry(opts: ShadowOptions): void {
  if (opts.definitionFile || opts.engine) return;
  throw new RecountError('USAGE', `shadow ${opts.analyzer} needs --definition FILE or --engine NAME`, {
    subject: 'recount shadow',
    hint: `recount shadow ${opts.analyzer} --definition FILE, or --engine spark|duckdb to run the current definition on that engine`,
  });
}

/**
 * Load the candidate (or take the current definition), put it in place of the production analyzer on the engine
 * asked for, and pick (and guard) its namespace.
 */
async function planShadow(ctx: ShadowContext, opts: ShadowOptions): Promise<ShadowPlan> {
  assertSomethingToTry(opts);
  const production = getAnalyzer(ctx.project, opts.analyzer);
  const choice = opts.engine ? engineChoiceFor(ctx.project, production, opts.engine) : undefined;
  const candidate = opts.definitionFile ? await loadDefinition(ctx.project.dir, opts.definitionFile) : undefined;
  const warnings: string[] = [];
  if (candidate && typeof candidate.value.name === 'string' && candidate.value.name !== production.name) {
    warnings.push(
      `${candidate.file} names its analyzer '${candidate.value.name}': the shadow runs it as '${production.name}', in place of the production analyzer it is compared with`,
    );
  }
  const ns = shadowNamespace(
    new OutputLayout(ctx.project.outputRoot),
    opts.name ?? defaultShadowName(candidate?.absPath, production.name, opts.engine),
  );
  const project = namespaceProject(
    ctx.project,
    ns.outputRoot,
    ns.stateFile,
    candidate && { analyzer: production.name, file: candidate.file, value: candidate.value },
  );
  const built = getAnalyzer(project, production.name);
  const analyzer = choice ? { ...built, engineChoice: choice } : built;
  const definition = {
    analyzer: analyzer.name,
    definition: candidate?.absPath ?? `${production.file} (current)`,
    definitionSha256: shadowDefinitionHash(analyzer),
    engine: analyzer.engineChoice.name,
  };
  assertSameDefinition(ns, definition);
  return { ns, project, analyzer, definition, warnings };
}

/** Diff the shadow's version of a partition against production's published one (or nothing, if none is). */
async function comparePartition(
  session: EngineSession,
  ctx: ShadowContext,
  nsStore: StateStore,
  analyzer: string,
  partition: string,
  shadowSeq: number,
  opts: ShadowOptions,
): Promise<ShadowPartition> {
  const shadow = await openVersion(nsStore, analyzer, partition, shadowSeq);
  const published = await ctx.store.publishedVersion(analyzer, partition);
  const production = published ? await openVersion(ctx.store, analyzer, partition, published.seq) : undefined;
  const keys = production?.manifest.keys ?? shadow.manifest.keys;
  const to = await diffSide(session, 'shadow ', shadow);
  const from = production
    ? await diffSide(session, 'production ', production)
    : { label: 'production (nothing published)', files: [], schema: to.schema };
  const diff = await diffRelations(session, from, to, { keys, tolerance: opts.tolerance, samples: opts.samples });
  const { added, removed, changed, unchanged } = diff;
  const acrossEngines = production && production.manifest.provenance.engine !== shadow.manifest.provenance.engine;
  const differs = acrossEngines ? enginesDisagree(diff) : diff.differs;
  const versions = { productionVersion: production?.seq ?? null, shadowVersion: shadow.seq };
  return { partition, status: 'compared', ...versions, added, removed, changed, unchanged, differs, diff };
}

/** Run one partition in the namespace and compare it; a failed run or diff is a failed partition, not an error. */
async function shadowPartition(
  session: EngineSession,
  ctx: ShadowContext,
  nsCtx: RunContext,
  analyzer: Analyzer,
  partition: string,
  opts: ShadowOptions,
): Promise<ShadowPartition> {
  const run = await runPartition(nsCtx, analyzer, partition, { trigger: 'shadow', threads: opts.threads });
  if (run.status !== 'succeeded' || run.version === undefined) {
    const e = run.error ?? asRecountError(new Error(run.warnings.at(-1) ?? 'not published'));
    const production = (await ctx.store.getPartition(analyzer.name, partition))?.published_seq ?? null;
    return failedPartition(partition, { production, shadow: null }, e);
  }
  try {
    return await comparePartition(session, ctx, nsCtx.store, analyzer.name, partition, run.version, opts);
  } catch (err) {
    return failedPartition(partition, { production: null, shadow: run.version }, asRecountError(err));
  }
}

/**
 * Run a candidate definition of an analyzer over production's inputs for a range of partitions, into a
 * shadow namespace (its own output root under `<output>/.recount/shadow/<name>/` and its own state store;
 * never the published path, never the warehouse), then diff each partition against production's published version.
 */
export async function runShadow(ctx: ShadowContext, opts: ShadowOptions): Promise<ShadowReport> {
  const { ns, project, analyzer, definition, warnings } = await planShadow(ctx, opts);
  const partitions = partitionRange(opts.from, opts.to, analyzer.grain);
  // Before the namespace is made or changed: an unreachable Spark is one error naming it, not one per partition.
  await assertEngineReachable(analyzer.engineChoice);
  touchMeta(ns, { ...definition, partitions: [] });
  const nsStore = await openStateStore(project.stateUrl, project.dir);
  const results: ShadowPartition[] = [];
  try {
    await recover(nsStore, new OutputLayout(ns.outputRoot), {
      stopDeadAttempts: deadAttemptStopper(new Map([[analyzer.name, analyzer]]), (m) =>
        process.stderr.write(`warning: ${m}\n`),
      ),
    });
    const nsCtx = { project, store: nsStore, engine: ctx.engine };
    await withDiffSession({ engine: ctx.engine, spillDir: ctx.project.spillDir }, async (session) => {
      for (const [i, p] of partitions.entries()) {
        opts.onProgress?.({ partition: p.id, done: i, total: partitions.length });
        const result = await shadowPartition(session, ctx, nsCtx, analyzer, p.id, opts);
        results.push(result);
        opts.onProgress?.({ partition: p.id, done: i + 1, total: partitions.length, result });
      }
    });
  } finally {
    await nsStore.close();
    touchMeta(ns, { ...definition, partitions: results.map((r) => r.partition) });
  }
  const totals = totalsOf(results);
  return {
    name: ns.name,
    analyzer: analyzer.name,
    definition: definition.definition,
    engine: definition.engine,
    namespace: ns.dir,
    partitions: results,
    totals,
    differs: totals.differing > 0,
    warnings,
  };
}
