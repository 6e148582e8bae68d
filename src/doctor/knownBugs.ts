import { readFileSync } from 'node:fs';
import { RecountError } from '../errors.ts';
import { packagePath } from '../paths.ts';
import type { SqlFeature } from '../audit/sqlFeatures.ts';

/** One documented engine bug that returns wrong results, and the versions it affects. */
export interface KnownBug {
  readonly id: string;
  readonly engine: 'duckdb' | 'recount';
  readonly title: string;
  readonly effect: string;
  /** Earliest version the sources show affected. */
  readonly from: string;
  /** First release the sources name as fixed; null when none is known. */
  readonly fixedIn: string | null;
  /**
   * What an analyzer must have for the bug to bite it: an input or output column of one of `columnTypes`, and
   * every one of `sqlFeatures` in its SQL. A bug without it can bite any analyzer.
   */
  readonly relevantIf?: { columnTypes?: string[]; sqlFeatures?: SqlFeature[] };
  /**
   * How bad a hit is: 'problem' (the default: rows missing or values wrong, doctor exits 1) or 'warning'
   * (values off in their last digits, within recount's float tolerance: worth knowing, not failing CI over).
   */
  readonly severity?: 'problem' | 'warning';
  readonly sources: string[];
  readonly notes?: string;
}

/** The data file shipped with recount: documented bugs, each citing its issue. */
export const KNOWN_BUGS_FILE = packagePath('data/known-engine-bugs.json');

/** Read the known-bugs file (or another one, for tests). */
export function loadKnownBugs(file: URL | string = KNOWN_BUGS_FILE): KnownBug[] {
  let parsed: { format?: string; bugs?: KnownBug[] };
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as typeof parsed;
  } catch (err) {
    throw new RecountError(
      'INTERNAL',
      `cannot read the known engine bugs file ${String(file)}: ${(err as Error).message}`,
      { subject: String(file), hint: 'reinstall recount; the file ships with it' },
    );
  }
  if (parsed.format !== 'recount.known-engine-bugs/1' || !Array.isArray(parsed.bugs)) {
    throw new RecountError('INTERNAL', `${String(file)} is not a recount.known-engine-bugs/1 file`, {
      subject: String(file),
    });
  }
  return parsed.bugs;
}

/** The numeric parts of a version (`v1.4.0`, `1.4.0-dev12` -> [1, 4, 0]); undefined if it has none. */
export function versionParts(version: string): number[] | undefined {
  const m = /^v?(\d+(?:\.\d+)*)/.exec(version.trim());
  return m ? m[1]!.split('.').map(Number) : undefined;
}

/** Compare two versions by their numeric parts (missing parts count as 0). */
export function compareVersions(a: string, b: string): number {
  const x = versionParts(a) ?? [];
  const y = versionParts(b) ?? [];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

/** True when a version lies in a bug's affected range: from <= version < fixedIn. */
export function affects(bug: KnownBug, version: string): boolean {
  if (!versionParts(version)) return false;
  return compareVersions(version, bug.from) >= 0 && (bug.fixedIn === null || compareVersions(version, bug.fixedIn) < 0);
}

/** The known bugs of an engine that affect a version. */
export function bugsAffecting(bugs: readonly KnownBug[], engine: KnownBug['engine'], version: string): KnownBug[] {
  return bugs.filter((b) => b.engine === engine && affects(b, version));
}

/** What one analyzer offers a bug to bite on: the types of its input and output columns, the SQL constructs it uses. */
export interface AnalyzerProfile {
  readonly analyzer: string;
  readonly columnTypes: ReadonlySet<string>;
  readonly features: ReadonlySet<SqlFeature>;
}

/** Whether a bug can bite an analyzer: it has a column of a named type (if any are named) and every named SQL feature. */
export function isRelevant(bug: KnownBug, profile: Pick<AnalyzerProfile, 'columnTypes' | 'features'>): boolean {
  const types = bug.relevantIf?.columnTypes ?? [];
  const features = bug.relevantIf?.sqlFeatures ?? [];
  const typeOk =
    !types.length || [...profile.columnTypes].some((t) => types.some((w) => new RegExp(`\\b${w}\\b`, 'i').test(t)));
  return typeOk && features.every((f) => profile.features.has(f));
}

/** What a bug needs, for people: `a DOUBLE/FLOAT column and HAVING and a JOIN in the SQL`. */
export function describeRelevance(bug: KnownBug): string {
  const parts: string[] = [];
  if (bug.relevantIf?.columnTypes?.length) parts.push(`a ${bug.relevantIf.columnTypes.join('/')} column`);
  const words: Record<SqlFeature, string> = {
    having: 'HAVING',
    join: 'a JOIN',
    'aggregate-filter': 'an aggregate FILTER',
    'grouping-sets': 'ROLLUP/CUBE/GROUPING SETS',
    'ordered-aggregate': 'an ordered aggregate (agg(x ORDER BY …))',
  };
  const sql = (bug.relevantIf?.sqlFeatures ?? []).map((f) => words[f]);
  if (sql.length) parts.push(`${sql.join(' and ')} in the SQL`);
  return parts.join(' and ') || 'nothing in particular';
}

/** The doctor status of a bug that can bite: its severity. */
export function bugSeverity(bug: KnownBug): 'problem' | 'warning' {
  return bug.severity ?? 'problem';
}
