import type { Column, EngineSession } from '../engine/engine.ts';
import { fileList, ident, lit } from '../engine/sql.ts';
import { diffRelations } from '../diff/diffRelations.ts';
import type { Tolerance } from '../diff/tolerance.ts';
import type { Manifest } from '../commit/manifest.ts';
import { bucketIndexSql, bucketOfFile } from '../layout/bucketing.ts';

/** One successful run of an audit: its version's manifest and absolute file paths. */
export interface AuditedRun {
  readonly run: number;
  readonly threads: number;
  readonly manifest: Manifest;
  readonly files: string[];
}

/** How one column behaved across the runs. */
export interface ColumnStability {
  readonly column: string;
  readonly type: string;
  readonly float: boolean;
  /** Most keys whose value differs in any bit from the first run, over the other runs. */
  readonly keysDiffering: number;
  /** Most keys whose value differs beyond the tolerance from the first run. */
  readonly keysBeyondTolerance: number;
  readonly maxAbsDiff: number | null;
}

/** What comparing every run with the first one found. */
export interface RunComparison {
  readonly columns: ColumnStability[];
  /** Most keys that sit in another file than in the first run, over the other runs (I3: must be 0). */
  readonly keyMoves: number;
  /** Most keys added, removed or duplicated in a run compared with the first. */
  readonly rowSetChanges: number;
  /** Output files byte-identical (same sha256) in every run, and those that are not. */
  readonly identicalFiles: { identical: number; total: number; differing: string[] };
}

async function countKeyMoves(
  session: EngineSession,
  a: readonly string[],
  b: readonly string[],
  keys: readonly string[],
): Promise<number> {
  const side = (files: readonly string[]) =>
    `SELECT ${keys.map(ident).join(', ')}, ${bucketIndexSql('__f')} AS __file FROM read_parquet(${fileList(files)}, filename = ${lit('__f')}, hive_partitioning = false)`;
  const on = keys.map((k) => `x.${ident(k)} IS NOT DISTINCT FROM y.${ident(k)}`).join(' AND ');
  const [r] = await session.query<{ n: string }>(
    `SELECT count(DISTINCT (${keys.map((k) => `x.${ident(k)}`).join(', ')})) AS n FROM (${side(a)}) x JOIN (${side(b)}) y ON ${on} WHERE x.__file <> y.__file`,
  );
  return Number(r?.n ?? 0);
}

/**
 * Compare every run with the first: per column, how many keys' values differ (in any bit, and beyond the
 * tolerance); how many keys changed file (I3); whether the row set changed; which files are byte-identical.
 */
export async function compareRuns(
  session: EngineSession,
  runs: readonly AuditedRun[],
  tolerance: Tolerance,
): Promise<RunComparison> {
  const first = runs[0]!;
  const keys = first.manifest.keys;
  const schema: Column[] = first.manifest.schema;
  const stats = new Map(
    schema
      .filter((c) => !keys.includes(c.name))
      .map((c) => [
        c.name,
        {
          column: c.name,
          type: c.type,
          float: false,
          keysDiffering: 0,
          keysBeyondTolerance: 0,
          maxAbsDiff: null as number | null,
        },
      ]),
  );
  let keyMoves = 0;
  let rowSetChanges = 0;
  for (const other of runs.slice(1)) {
    const d = await diffRelations(
      session,
      { label: `run ${first.run}`, files: first.files, schema },
      { label: `run ${other.run}`, files: other.files, schema: other.manifest.schema },
      { keys, tolerance, samples: 0 },
    );
    rowSetChanges = Math.max(rowSetChanges, d.added + d.removed + d.from.extraRows + d.to.extraRows);
    for (const c of d.columns) {
      const s = stats.get(c.column);
      if (!s) continue;
      s.float = c.float;
      s.keysDiffering = Math.max(s.keysDiffering, c.differentBits);
      s.keysBeyondTolerance = Math.max(s.keysBeyondTolerance, c.changed);
      if (c.maxAbsDiff !== null) s.maxAbsDiff = Math.max(s.maxAbsDiff ?? 0, c.maxAbsDiff);
    }
    keyMoves = Math.max(keyMoves, await countKeyMoves(session, first.files, other.files, keys));
  }
  // Files are compared bucket by bucket: each version's file names carry its own tag, the bucket is the stable part.
  const paths = [...new Set(runs.flatMap((r) => r.manifest.files.map((f) => bucketOfFile(f.path))))].sort();
  const differing = paths.filter(
    (p) =>
      new Set(runs.map((r) => r.manifest.files.find((f) => bucketOfFile(f.path) === p)?.sha256 ?? 'missing')).size > 1,
  );
  return {
    columns: [...stats.values()],
    keyMoves,
    rowSetChanges,
    identicalFiles: { identical: paths.length - differing.length, total: paths.length, differing },
  };
}
