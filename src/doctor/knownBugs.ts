import { readFileSync } from 'node:fs';
import { RecountError } from '../errors.ts';
import { packagePath } from '../paths.ts';

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
  /** The bug only bites a project with an input or output column of one of these types. */
  readonly relevantIf?: { columnTypes?: string[] };
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
    throw new RecountError('INTERNAL', `cannot read the known engine bugs file ${String(file)}: ${(err as Error).message}`, { subject: String(file), hint: 'reinstall recount; the file ships with it' });
  }
  if (parsed.format !== 'recount.known-engine-bugs/1' || !Array.isArray(parsed.bugs)) {
    throw new RecountError('INTERNAL', `${String(file)} is not a recount.known-engine-bugs/1 file`, { subject: String(file) });
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

/** Whether a bug can bite a project with these column types (always, when the bug names no types). */
export function isRelevant(bug: KnownBug, columnTypes: ReadonlySet<string>): boolean {
  const wanted = bug.relevantIf?.columnTypes;
  if (!wanted?.length) return true;
  return [...columnTypes].some((t) => wanted.some((w) => new RegExp(`\\b${w}\\b`, 'i').test(t)));
}
