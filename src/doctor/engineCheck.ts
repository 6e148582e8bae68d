import type { StateStore } from '../state/store.ts';
import {
  bugSeverity,
  bugsAffecting,
  describeRelevance,
  isRelevant,
  type AnalyzerProfile,
  type KnownBug,
} from './knownBugs.ts';
import type { Finding } from './finding.ts';
import { publishedVersions } from './provenance.ts';

function advice(bug: KnownBug): string {
  return bug.fixedIn ? `fixed in ${bug.fixedIn}` : 'no fixed release known yet';
}

/** Options of the engine-version check. */
export interface EngineCheckOptions {
  readonly bugs: readonly KnownBug[];
  readonly duckdbVersion: string;
  readonly recountVersion: string;
  /** Each analyzer's column types and SQL constructs; undefined when the project did not load (relevance unknown). */
  readonly analyzers: readonly AnalyzerProfile[] | undefined;
  readonly store?: StateStore;
}

/**
 * The installed DuckDB and recount, and the DuckDB recorded in every published version, against the known
 * engine bugs. Relevance is decided per analyzer (its column types and SQL constructs): a bug that can bite
 * one is reported at the bug's severity, naming the analyzers; one that can bite none is information; when
 * the analyzers could not be read, it is a warning that relevance is unknown.
 */
export async function checkEngineVersions(opts: EngineCheckOptions): Promise<Finding[]> {
  const findings = installedFindings(opts);
  if (opts.store) findings.push(...(await publishedFindings(opts, opts.store)));
  return findings;
}

/** The installed DuckDB and recount against the known bugs. */
function installedFindings(opts: EngineCheckOptions): Finding[] {
  const findings: Finding[] = [];
  const installed: [KnownBug['engine'], string, string][] = [
    ['duckdb', opts.duckdbVersion, 'DuckDB'],
    ['recount', opts.recountVersion, 'recount'],
  ];
  for (const [engine, version, name] of installed) {
    const hits = bugsAffecting(opts.bugs, engine, version);
    if (!hits.length)
      findings.push({
        check: 'engine-version',
        status: 'ok',
        subject: `${name} ${version}`,
        message: `${name} ${version} (installed): no known wrong-result bug`,
      });
    for (const bug of hits) {
      const bitten = opts.analyzers?.filter((a) => isRelevant(bug, a)).map((a) => a.analyzer);
      const base = `${name} ${version} (installed) has ${bug.id}: ${bug.title} (${bug.effect}; ${advice(bug)})`;
      const where =
        bitten === undefined
          ? ` — cannot tell whether it bites this project (the analyzers did not load); it needs ${describeRelevance(bug)}`
          : bitten.length
            ? ` — can bite ${bitten.join(', ')} (it needs ${describeRelevance(bug)})`
            : ` — not relevant here: no analyzer has ${describeRelevance(bug)}`;
      findings.push({
        check: 'engine-bug',
        status: bitten === undefined ? 'warning' : bitten.length ? bugSeverity(bug) : 'info',
        subject: `${name} ${version}`,
        message: base + where,
        hint:
          bitten?.length === 0
            ? undefined
            : `${bug.fixedIn ? `upgrade ${name} to ${bug.fixedIn} or later` : 'avoid the pattern the issue describes'}; see ${bug.sources[0]}`,
        details: { bug: bug.id, sources: bug.sources, from: bug.from, fixedIn: bug.fixedIn, analyzers: bitten ?? null },
      });
    }
  }
  return findings;
}

/** Published outputs made by an engine (DuckDB or recount itself) with a known bug, grouped by analyzer and recorded version. */
async function publishedFindings(opts: EngineCheckOptions, store: StateStore): Promise<Finding[]> {
  const groups = new Map<
    string,
    { engine: KnownBug['engine']; analyzer: string; version: string; partitions: string[] }
  >();
  for (const v of await publishedVersions(store)) {
    for (const [engine, version] of [
      ['duckdb', v.engine_version],
      ['recount', v.recount_version],
    ] as const) {
      const key = `${engine}\0${v.analyzer}\0${version}`;
      const g = groups.get(key) ?? { engine, analyzer: v.analyzer, version, partitions: [] };
      g.partitions.push(v.partition_id);
      groups.set(key, g);
    }
  }
  const findings: Finding[] = [];
  const profiles = new Map((opts.analyzers ?? []).map((a) => [a.analyzer, a]));
  for (const g of groups.values()) {
    const name = g.engine === 'duckdb' ? 'DuckDB' : 'recount';
    // An analyzer no longer in the project (or a project that did not load) cannot be ruled out.
    const profile = profiles.get(g.analyzer);
    for (const bug of bugsAffecting(opts.bugs, g.engine, g.version)) {
      if (profile && !isRelevant(bug, profile)) continue;
      findings.push({
        check: 'published-by-affected-engine',
        status: bugSeverity(bug),
        subject: `${g.analyzer} (${name} ${g.version})`,
        message: `${g.partitions.length} published partition(s) of ${g.analyzer} were made with ${name} ${g.version}, which has ${bug.id}: ${bug.title} (${bug.effect}; it needs ${describeRelevance(bug)}${profile ? `, which ${g.analyzer} has` : `; ${g.analyzer}'s definition could not be checked`})`,
        hint:
          g.engine === 'duckdb'
            ? `list them with 'recount status ${g.analyzer} --engine-version ${g.version}', rerun them with 'recount backfill ${g.analyzer} --where engine-version=${g.version}'`
            : `rerun them with 'recount backfill ${g.analyzer} --from ID --to ID --force' after upgrading recount`,
        details: {
          bug: bug.id,
          analyzer: g.analyzer,
          engine: g.engine,
          engineVersion: g.version,
          partitions: g.partitions.sort(),
          sources: bug.sources,
        },
      });
    }
  }
  return findings;
}
