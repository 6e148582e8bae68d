import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import Database from 'better-sqlite3';
import { DuckDBEngine } from '../../src/engine/duckdb/duckdbEngine.ts';
import { sqlFeatures } from '../../src/audit/sqlFeatures.ts';
import { runDoctor } from '../../src/doctor/runDoctor.ts';
import type { Finding } from '../../src/doctor/finding.ts';
import type { KnownBug } from '../../src/doctor/knownBugs.ts';
import { publishRuns } from '../helpers/publish.ts';
import { makeProject, type TestProject } from '../helpers/project.ts';

// A known engine bug is judged per analyzer, by what its reproduction needs (U1): duckdb#22897 (float sums
// off in their last digits under HAVING and a JOIN to a view) must not fail doctor on the shipped examples,
// which sum a DOUBLE with neither; an analyzer that has both gets a warning, not a problem.

const H = 'ad_impressions_hourly';
const J = 'having_join';
const P = '2023-10-12T00';
const HAVING_JOIN = `import { defineAnalyzer } from 'recount';
export default defineAnalyzer({ name: '${J}', inputs: ['events'], grain: 'hour', keys: ['ad_id'],
  sql: \`SELECT e.ad_id, count(*) AS n, sum(e.bid_price) AS total_bid
        FROM events e LEFT JOIN (SELECT DISTINCT ad_id FROM events WHERE event_type = 'click') c ON c.ad_id = e.ad_id
        GROUP BY e.ad_id HAVING count(*) > 0\` });
`;

const of = (findings: Finding[], check: string) => findings.filter((f) => f.check === check);

describe('known engine bugs, judged per analyzer', () => {
  let tp: TestProject;
  beforeAll(async () => {
    tp = await makeProject({ hours: 1, rowsPerHour: 1000, analyzers: { [J]: HAVING_JOIN } });
    await publishRuns(tp, [
      [H, P],
      [J, P],
    ]);
    // Both published versions as if made by DuckDB 1.5.0, inside duckdb#22897's range (1.4.4 up to 1.5.3).
    const db = new Database(join(tp.dir, '.recount/state.db'));
    db.prepare("UPDATE versions SET engine_version = 'v1.5.0'").run();
    db.close();
  });
  afterAll(() => tp.cleanup());

  it('reads the SQL constructs of a query with DuckDB’s parser, in CTEs and subqueries too', async () => {
    const session = await new DuckDBEngine().open({
      memoryBytes: 200_000_000,
      threads: 1,
      spillDir: join(tmpdir(), 'recount-test-spill'),
    });
    try {
      const f = async (sql: string) => [...(await sqlFeatures(session, sql, 'x.ts'))].sort();
      expect(await f('SELECT ad_id, sum(bid_price) FROM events GROUP BY ad_id')).toEqual([]);
      expect(
        await f(
          'WITH t AS (SELECT a, sum(x) AS s FROM events e JOIN v USING (a) GROUP BY a HAVING sum(x) > 0) SELECT * FROM t',
        ),
      ).toEqual(['having', 'join']);
      expect(await f('SELECT a, count(*) FILTER (WHERE b > 1) FROM (SELECT * FROM events) GROUP BY a')).toEqual([
        'aggregate-filter',
      ]);
      expect(await f('SELECT a, string_agg(x ORDER BY x) FROM events GROUP BY ROLLUP (a, b)')).toEqual([
        'grouping-sets',
        'ordered-aggregate',
      ]);
    } finally {
      session.close();
    }
  });

  it('outputs of an affected DuckDB: the examples are not flagged; the analyzer with HAVING and a JOIN is, as a warning (exit 0)', () => {
    const r = tp.cli(['--json', 'doctor', '--min-free', '1B']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const flagged = of(r.json.findings, 'published-by-affected-engine');
    expect(flagged.map((f) => [f.subject, f.status, f.details?.bug])).toEqual([
      [`${J} (DuckDB v1.5.0)`, 'warning', 'duckdb#22897'],
    ]);
    expect(flagged[0]!.message).toContain(
      `it needs a DOUBLE/FLOAT column and HAVING and a JOIN in the SQL, which ${J} has`,
    );
    expect(flagged[0]!.hint).toContain(`recount backfill ${J} --where engine-version=v1.5.0`);
  });

  it('an installed engine with a bug: the analyzers it can bite are named; when the project does not load, relevance is unknown (a warning), not "not relevant"', async () => {
    const version = (await runDoctor({ projectDir: tp.dir, engine: new DuckDBEngine(), minFreeBytes: 1, bugs: [] }))
      .versions.duckdb!;
    const bug: KnownBug = {
      id: 'duckdb#1',
      engine: 'duckdb',
      title: 'test bug',
      effect: 'wrong values',
      from: '0.0.1',
      fixedIn: null,
      relevantIf: { columnTypes: ['DOUBLE'], sqlFeatures: ['having'] },
      sources: ['https://github.com/duckdb/duckdb/issues/1'],
    };
    const here = await runDoctor({ projectDir: tp.dir, engine: new DuckDBEngine(), minFreeBytes: 1, bugs: [bug] });
    expect(of(here.findings, 'engine-bug').map((f) => [f.subject, f.status, f.details?.analyzers])).toEqual([
      [`DuckDB ${version}`, 'problem', [J]],
    ]);
    const brokenProject = await makeProject({ hours: 0, config: 'export default { datasets: 42 };\n' });
    try {
      const broken = await runDoctor({
        projectDir: brokenProject.dir,
        engine: new DuckDBEngine(),
        minFreeBytes: 1,
        bugs: [bug],
      });
      expect(of(broken.findings, 'config')[0]!.status).toBe('problem');
      const [f] = of(broken.findings, 'engine-bug');
      expect(f).toMatchObject({ status: 'warning', details: { analyzers: null } });
      expect(f!.message).toContain('cannot tell whether it bites this project');
    } finally {
      brokenProject.cleanup();
    }
  });
});
