import type { EngineSession } from '../engine/engine.ts';
import { asRecountError } from '../errors.ts';
import type { StateStore } from '../state/store.ts';
import { diffRelations, type DiffReport } from '../diff/diffRelations.ts';
import type { Tolerance } from '../diff/tolerance.ts';
import { openVersion, type VersionFiles } from '../diff/versionFiles.ts';
import { diffSide } from '../shadow/diffSide.ts';
import { enginesDisagree } from '../shadow/engineVerdict.ts';

/** One engine's run of a partition: the scratch version it made, or why it made none. */
export interface EngineRun {
  readonly engine: string;
  readonly status: 'succeeded' | 'failed';
  readonly rows?: number;
  readonly engineVersion?: string;
  readonly error?: { code: string; message: string; hint?: string };
}

/** One engine's output diffed against the first engine's. */
export interface EngineComparison {
  readonly from: string;
  readonly to: string;
  readonly added: number;
  readonly removed: number;
  readonly changed: number;
  readonly unchanged: number;
  /** The engines disagree (a change of integer or float width alone does not count: see enginesDisagree). */
  readonly differs: boolean;
  readonly diff: DiffReport;
}

/** What each engine's run of a partition returned, with the scratch store its version is in. */
export interface EngineResult {
  readonly engine: string;
  readonly store: StateStore;
  readonly version?: number;
  readonly error?: { code: string; message: string; hint?: string };
}

/**
 * Diff every engine's version of a partition against the first engine's (labelled by engine), in a DuckDB
 * session; the engines agree when all ran and no diff differs beyond the tolerance.
 */
export async function compareEngines(
  session: EngineSession,
  analyzer: string,
  partition: string,
  results: readonly EngineResult[],
  opts: { tolerance: Tolerance; samples?: number },
): Promise<{ runs: EngineRun[]; comparisons: EngineComparison[]; agree: boolean }> {
  const runs: EngineRun[] = [];
  const opened: { engine: string; v: VersionFiles }[] = [];
  for (const r of results) {
    if (r.version === undefined) {
      runs.push({ engine: r.engine, status: 'failed', error: r.error });
      continue;
    }
    try {
      const v = await openVersion(r.store, analyzer, partition, r.version);
      opened.push({ engine: r.engine, v });
      const { rows, provenance } = v.manifest;
      runs.push({ engine: r.engine, status: 'succeeded', rows, engineVersion: provenance.engineVersion });
    } catch (err) {
      const e = asRecountError(err);
      runs.push({ engine: r.engine, status: 'failed', error: { code: e.code, message: e.message, hint: e.hint } });
    }
  }
  const comparisons: EngineComparison[] = [];
  const [base, ...others] = opened;
  for (const o of base ? others : []) {
    const diff = await diffRelations(session, await diffSide(session, '', base!.v), await diffSide(session, '', o.v), {
      keys: base!.v.manifest.keys,
      tolerance: opts.tolerance,
      samples: opts.samples,
    });
    const { added, removed, changed, unchanged } = diff;
    const differs = enginesDisagree(diff);
    comparisons.push({ from: base!.engine, to: o.engine, added, removed, changed, unchanged, differs, diff });
  }
  const agree = runs.every((r) => r.status === 'succeeded') && comparisons.every((c) => !c.differs);
  return { runs, comparisons, agree };
}
