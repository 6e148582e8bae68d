import { createHash } from 'node:crypto';
import type { Analyzer, Project } from '../config/project.ts';
import { getAnalyzer } from '../config/project.ts';
import { partitionRange } from '../catalog/partition.ts';
import { OutputLayout } from '../commit/paths.ts';
import { recover } from '../commit/recovery.ts';
import type { Engine, EngineSession } from '../engine/engine.ts';
import { asRecountError } from '../errors.ts';
import { openStateStore } from '../state/open.ts';
import type { StateStore } from '../state/store.ts';
import { runPartition } from '../run/runPartition.ts';
import { diffRelations, type DiffReport } from '../diff/diffRelations.ts';
import { withDiffSession } from '../diff/diffVersions.ts';
import type { Tolerance } from '../diff/tolerance.ts';
import { openVersion } from '../diff/versionFiles.ts';
import { loadDefinition } from './loadDefinition.ts';
import { assertSameDefinition, shadowNamespace, touchMeta, type Namespace } from './namespace.ts';
import { namespaceProject } from './namespaceProject.ts';

/** What a shadow run needs from production: the project, its state store and an engine. */
export interface ShadowContext {
  readonly project: Project;
  readonly store: StateStore;
  readonly engine: Engine;
}

/** One partition of a shadow run: the candidate's version against production's. */
export interface ShadowPartition {
  readonly partition: string;
  readonly status: 'compared' | 'failed';
  readonly productionVersion: number | null;
  readonly shadowVersion: number | null;
  readonly added: number;
  readonly removed: number;
  readonly changed: number;
  readonly unchanged: number;
  readonly differs: boolean;
  readonly diff?: DiffReport;
  readonly error?: { code: string; message: string; hint?: string };
}

/** The whole shadow run. */
export interface ShadowReport {
  readonly name: string;
  readonly analyzer: string;
  readonly definition: string;
  /** The namespace folder: `<output>/.recount/shadow/<name>`. */
  readonly namespace: string;
  readonly partitions: ShadowPartition[];
  readonly totals: {
    partitions: number;
    compared: number;
    failed: number;
    differing: number;
    added: number;
    removed: number;
    changed: number;
    unchanged: number;
  };
  /** True when some partition failed or differs from production beyond the tolerance. */
  readonly differs: boolean;
  /** What the user should know about how the candidate was run (e.g. its name was replaced). */
  readonly warnings: string[];
}

/** Options of a shadow run. */
export interface ShadowOptions {
  readonly analyzer: string;
  readonly definitionFile: string;
  readonly from: string;
  readonly to: string;
  /** Namespace name (default: the definition file's name). */
  readonly name?: string;
  readonly tolerance: Tolerance;
  readonly threads?: number;
  readonly samples?: number;
  /** Called before each partition runs and after it is compared, for a progress bar. */
  readonly onProgress?: (e: { partition: string; done: number; total: number; result?: ShadowPartition }) => void;
}

/**
 * What identifies a candidate's runs: the analyzer as recount validated it (SQL, keys, files, checks, grain,
 * inputs, ...), so an edit to the file — or to a helper it imports — is a different definition; its memory,
 * threads and retention are not part of it.
 */
function definitionHash(a: Analyzer): string {
  // Where it came from and how much memory or how many threads it gets do not change its output.
  const {
    file: _file,
    memoryBytes: _m,
    threadCount: _t,
    versionsToKeep: _v,
    memory: _mem,
    threads: _th,
    keepVersions: _k,
    ...rest
  } = a;
  // Keys sorted at every level, so the hash does not depend on the order fields were written in.
  const stable = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(stable)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.entries(v)
              .sort(([x], [y]) => x.localeCompare(y))
              .map(([k, x]) => [k, stable(x)]),
          )
        : v;
  return createHash('sha256')
    .update(JSON.stringify(stable(rest)))
    .digest('hex');
}

/** Default namespace name: the candidate file's name without its extension. */
export function defaultShadowName(definitionFile: string): string {
  const base = definitionFile.split(/[\\/]/).at(-1) ?? 'shadow';
  return base.replace(/\.(ts|mts|js|mjs)$/, '').replace(/[^A-Za-z0-9_.-]/g, '_');
}

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
  const diff = await diffRelations(
    session,
    production
      ? { label: `production v${production.seq}`, files: production.files, schema: production.manifest.schema }
      : { label: 'production (nothing published)', files: [], schema: shadow.manifest.schema },
    { label: `shadow v${shadow.seq}`, files: shadow.files, schema: shadow.manifest.schema },
    { keys, tolerance: opts.tolerance, samples: opts.samples },
  );
  return {
    partition,
    status: 'compared',
    productionVersion: production?.seq ?? null,
    shadowVersion: shadow.seq,
    added: diff.added,
    removed: diff.removed,
    changed: diff.changed,
    unchanged: diff.unchanged,
    differs: diff.differs,
    diff,
  };
}

/**
 * Run a candidate definition of an analyzer over production's inputs for a range of partitions, into a
 * shadow namespace (its own output root under `<output>/.recount/shadow/<name>/` and its own state store;
 * never the published path, never the warehouse), then diff each partition against production's published version.
 */
export async function runShadow(ctx: ShadowContext, opts: ShadowOptions): Promise<ShadowReport> {
  const production = getAnalyzer(ctx.project, opts.analyzer);
  const candidate = await loadDefinition(ctx.project.dir, opts.definitionFile);
  const warnings: string[] = [];
  if (typeof candidate.value.name === 'string' && candidate.value.name !== production.name) {
    warnings.push(
      `${candidate.file} names its analyzer '${candidate.value.name}': the shadow runs it as '${production.name}', in place of the production analyzer it is compared with`,
    );
  }
  const ns: Namespace = shadowNamespace(
    new OutputLayout(ctx.project.outputRoot),
    opts.name ?? defaultShadowName(candidate.absPath),
  );
  const project = namespaceProject(ctx.project, ns.outputRoot, ns.stateFile, {
    analyzer: production.name,
    file: candidate.file,
    value: candidate.value,
  });
  const analyzer = getAnalyzer(project, production.name);
  const partitions = partitionRange(opts.from, opts.to, analyzer.grain);
  const definition = {
    analyzer: analyzer.name,
    definition: candidate.absPath,
    definitionSha256: definitionHash(analyzer),
  };
  assertSameDefinition(ns, definition);
  touchMeta(ns, { ...definition, partitions: [] });
  const nsStore = await openStateStore(project.stateUrl, project.dir);
  const results: ShadowPartition[] = [];
  try {
    await recover(nsStore, new OutputLayout(ns.outputRoot));
    const nsCtx = { project, store: nsStore, engine: ctx.engine };
    await withDiffSession({ engine: ctx.engine, spillDir: ctx.project.spillDir }, async (session) => {
      for (const [i, p] of partitions.entries()) {
        opts.onProgress?.({ partition: p.id, done: i, total: partitions.length });
        const run = await runPartition(nsCtx, analyzer, p.id, { trigger: 'shadow', threads: opts.threads });
        let result: ShadowPartition;
        if (run.status !== 'succeeded' || run.version === undefined) {
          const e = run.error ?? asRecountError(new Error(run.warnings.at(-1) ?? 'not published'));
          result = {
            partition: p.id,
            status: 'failed',
            productionVersion: (await ctx.store.getPartition(analyzer.name, p.id))?.published_seq ?? null,
            shadowVersion: null,
            added: 0,
            removed: 0,
            changed: 0,
            unchanged: 0,
            differs: true,
            error: { code: e.code, message: e.message, hint: e.hint },
          };
        } else {
          try {
            result = await comparePartition(session, ctx, nsStore, analyzer.name, p.id, run.version, opts);
          } catch (err) {
            const e = asRecountError(err);
            result = {
              partition: p.id,
              status: 'failed',
              productionVersion: null,
              shadowVersion: run.version,
              added: 0,
              removed: 0,
              changed: 0,
              unchanged: 0,
              differs: true,
              error: { code: e.code, message: e.message, hint: e.hint },
            };
          }
        }
        results.push(result);
        opts.onProgress?.({ partition: p.id, done: i + 1, total: partitions.length, result });
      }
    });
  } finally {
    await nsStore.close();
    touchMeta(ns, { ...definition, partitions: results.map((r) => r.partition) });
  }
  const sum = (f: (r: ShadowPartition) => number) => results.reduce((s, r) => s + f(r), 0);
  const totals = {
    partitions: results.length,
    compared: results.filter((r) => r.status === 'compared').length,
    failed: results.filter((r) => r.status === 'failed').length,
    differing: results.filter((r) => r.differs).length,
    added: sum((r) => r.added),
    removed: sum((r) => r.removed),
    changed: sum((r) => r.changed),
    unchanged: sum((r) => r.unchanged),
  };
  return {
    name: ns.name,
    analyzer: analyzer.name,
    definition: candidate.absPath,
    namespace: ns.dir,
    partitions: results,
    totals,
    differs: totals.differing > 0,
    warnings,
  };
}
