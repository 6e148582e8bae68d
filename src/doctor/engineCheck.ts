import type { StateStore } from '../state/store.ts';
import { bugsAffecting, isRelevant, type KnownBug } from './knownBugs.ts';
import type { Finding } from './finding.ts';
import { publishedVersions } from './provenance.ts';

function advice(bug: KnownBug): string {
  return bug.fixedIn ? `fixed in ${bug.fixedIn}` : 'no fixed release known yet';
}

/**
 * The installed DuckDB and recount, and the DuckDB recorded in every published version, against the known
 * engine bugs: a bug that affects a version and can bite this project (by its column types) is a problem;
 * one that cannot is shown for information.
 */
export async function checkEngineVersions(opts: { bugs: readonly KnownBug[]; duckdbVersion: string; recountVersion: string; columnTypes: ReadonlySet<string>; store?: StateStore }): Promise<Finding[]> {
  const findings: Finding[] = [];
  const installed: [KnownBug['engine'], string, string][] = [
    ['duckdb', opts.duckdbVersion, 'DuckDB'],
    ['recount', opts.recountVersion, 'recount'],
  ];
  for (const [engine, version, name] of installed) {
    const hits = bugsAffecting(opts.bugs, engine, version);
    if (!hits.length) findings.push({ check: 'engine-version', status: 'ok', subject: `${name} ${version}`, message: `${name} ${version} (installed): no known wrong-result bug` });
    for (const bug of hits) {
      const relevant = isRelevant(bug, opts.columnTypes);
      findings.push({
        check: 'engine-bug',
        status: relevant ? 'problem' : 'info',
        subject: `${name} ${version}`,
        message: `${name} ${version} (installed) has ${bug.id}: ${bug.title} (${bug.effect}; ${advice(bug)})${relevant ? '' : ` — not relevant here: no ${bug.relevantIf!.columnTypes!.join('/')} column in any analyzer's inputs or output`}`,
        hint: relevant ? `${bug.fixedIn ? `upgrade ${name} to ${bug.fixedIn} or later` : 'avoid the pattern the issue describes'}; see ${bug.sources[0]}` : undefined,
        details: { bug: bug.id, sources: bug.sources, from: bug.from, fixedIn: bug.fixedIn },
      });
    }
  }
  if (!opts.store) return findings;

  // Which published outputs did an affected engine (DuckDB or recount itself) produce? Grouped by analyzer and recorded version.
  const groups = new Map<string, { engine: KnownBug['engine']; analyzer: string; version: string; partitions: string[] }>();
  for (const v of await publishedVersions(opts.store)) {
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
  for (const g of groups.values()) {
    const name = g.engine === 'duckdb' ? 'DuckDB' : 'recount';
    for (const bug of bugsAffecting(opts.bugs, g.engine, g.version)) {
      if (!isRelevant(bug, opts.columnTypes)) continue;
      findings.push({
        check: 'published-by-affected-engine',
        status: 'problem',
        subject: `${g.analyzer} (${name} ${g.version})`,
        message: `${g.partitions.length} published partition(s) of ${g.analyzer} were made with ${name} ${g.version}, which has ${bug.id}: ${bug.title}`,
        hint: g.engine === 'duckdb'
          ? `list them with 'recount status ${g.analyzer} --engine-version ${g.version}', rerun them with 'recount backfill ${g.analyzer} --where engine-version=${g.version}'`
          : `rerun them with 'recount backfill ${g.analyzer} --from ID --to ID --force' after upgrading recount`,
        details: { bug: bug.id, analyzer: g.analyzer, engine: g.engine, engineVersion: g.version, partitions: g.partitions.sort(), sources: bug.sources },
      });
    }
  }
  return findings;
}
