import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { DuckDBEngine } from '../../src/engine/duckdb/duckdbEngine.ts';
import { runDoctor } from '../../src/doctor/runDoctor.ts';
import { bugsAffecting, isRelevant, loadKnownBugs } from '../../src/doctor/knownBugs.ts';
import type { Finding } from '../../src/doctor/finding.ts';
import { runPartition } from '../../src/run/runPartition.ts';
import { bucketFile, makeProject, type TestProject } from '../helpers/project.ts';

// recount doctor checks a project and changes nothing: config and analyzers (EXPLAIN over the inputs'
// schema, lint), free disk, the state store against the files (interrupted publishes, orphaned staging,
// versions whose files are gone) and engine versions against the known engine bugs.

const H = 'ad_impressions_hourly';
const T00 = '2023-10-12T00';
const T01 = '2023-10-12T01';

const analyzer = (name: string, sql: string) => `import { defineAnalyzer } from 'recount';
export default defineAnalyzer({ name: '${name}', inputs: ['events'], grain: 'hour', sql: '${sql}' });
`;

const of = (findings: Finding[], check: string) => findings.filter((f) => f.check === check);

describe('recount doctor', () => {
  let tp: TestProject;
  let v1Dir: string;
  beforeAll(async () => {
    tp = await makeProject({ hours: 2, rowsPerHour: 2000 });
    const ctx = await tp.open();
    try {
      const a = ctx.project.analyzers.get(H)!;
      for (const p of [T00, T00, T01]) expect((await runPartition(ctx, a, p)).status).toBe('succeeded');
      v1Dir = (await ctx.store.getVersion(H, T00, 1))!.dir;
    } finally {
      await ctx.close();
    }
  });
  afterAll(() => tp.cleanup());

  it('finds no problem in a healthy project, and says what it checked', async () => {
    const r = await runDoctor({ projectDir: tp.dir, engine: new DuckDBEngine(), minFreeBytes: 1 });
    expect(r.findings.filter((f) => f.status === 'problem' || f.status === 'warning')).toEqual([]);
    expect(r.ok).toBe(true);
    expect(of(r.findings, 'compile').map((f) => [f.subject, f.status])).toEqual([
      ['analyzers/ad_impressions_daily.ts', 'ok'],
      ['analyzers/ad_impressions_hourly.ts', 'ok'],
    ]);
    expect(of(r.findings, 'state-store')[0]!.status).toBe('ok');
    // The installed DuckDB against the shipped list: whatever it matches is shown, as information when this project cannot hit it.
    const hits = bugsAffecting(loadKnownBugs(), 'duckdb', r.versions.duckdb!);
    expect(of(r.findings, 'engine-bug').map((f) => f.details?.bug)).toEqual(hits.map((b) => b.id));
    for (const b of hits)
      expect(
        isRelevant(b, {
          columnTypes: new Set(['INTEGER', 'BIGINT', 'VARCHAR', 'DOUBLE', 'TIMESTAMP']),
          features: new Set(),
        }),
      ).toBe(false);
  });

  it('less free disk than --min-free is a problem', async () => {
    const r = await runDoctor({ projectDir: tp.dir, engine: new DuckDBEngine(), minFreeBytes: 1e18 });
    expect(of(r.findings, 'disk').map((f) => f.status)).toEqual(['problem', 'problem']);
    expect(r.ok).toBe(false);
  });

  it('finds an interrupted publish, a version whose files were deleted, orphaned staging, a broken and a nondeterministic analyzer, and outputs of a buggy engine — without fixing anything (exit 1)', () => {
    // A publish killed right after it claimed the partition: the intent is recorded, the link not switched.
    const killed = tp.cli(['run', H, '--partition', T01], { RECOUNT_FAULT: 'after-claim' });
    expect(killed.signal).toBe('SIGKILL');
    const gone = bucketFile(v1Dir, 1);
    rmSync(join(v1Dir, gone));
    const orphan = join(tp.dir, 'data/out/.recount/work/staging/lost-attempt');
    mkdirSync(orphan, { recursive: true });
    writeFileSync(
      join(tp.dir, 'analyzers/broken.ts'),
      analyzer('broken', 'SELECT ad_id, no_such_column FROM events GROUP BY ALL'),
    );
    writeFileSync(
      join(tp.dir, 'analyzers/stamped.ts'),
      analyzer('stamped', 'SELECT ad_id, count(*) AS n, now() AS computed_at FROM events GROUP BY ad_id'),
    );
    // T00's published version, as if made by DuckDB 1.4.0 (duckdb#19131: Parquet reader dropping rows).
    const db = new Database(join(tp.dir, '.recount/state.db'));
    db.prepare(
      "UPDATE versions SET engine_version = 'v1.4.0' WHERE analyzer = ? AND partition_id = ? AND status = 'published'",
    ).run(H, T00);
    db.close();

    const r = tp.cli(['--json', 'doctor', '--min-free', '1B']);
    expect(r.code, r.stderr).toBe(1);
    const f: Finding[] = r.json.findings;
    expect(r.json.ok).toBe(false);

    expect(of(f, 'interrupted-publish')).toEqual([
      expect.objectContaining({ status: 'problem', subject: `${H} ${T01} v2` }),
    ]);
    expect(of(f, 'interrupted-publish')[0]!.message).toContain(
      'readers still see v1; its files are there, so it can be finished',
    );
    expect(of(f, 'version-files-missing')).toEqual([
      expect.objectContaining({ status: 'problem', subject: `${H} ${T00} v1` }),
    ]);
    expect(of(f, 'version-files-missing')[0]!.message).toContain(gone);
    expect(of(f, 'orphaned-staging').map((x) => [x.status, x.subject])).toEqual([['problem', orphan]]);
    expect(of(f, 'compile').find((x) => x.subject === 'analyzers/broken.ts')).toMatchObject({ status: 'problem' });
    expect(of(f, 'compile').find((x) => x.subject === 'analyzers/broken.ts')!.message).toContain('no_such_column');
    expect(of(f, 'lint')).toEqual([
      expect.objectContaining({
        status: 'problem',
        subject: 'analyzers/stamped.ts:1',
        details: { rule: 'nondeterministic-function' },
      }),
    ]);
    const buggy = of(f, 'published-by-affected-engine');
    expect(buggy).toEqual([expect.objectContaining({ status: 'problem', subject: `${H} (DuckDB v1.4.0)` })]);
    expect(buggy[0]!.details).toMatchObject({ bug: 'duckdb#19131', partitions: [T00] });
    expect(buggy[0]!.hint).toContain(`recount backfill ${H} --where engine-version=v1.4.0`);

    // Doctor changed nothing: the publish is still pending and the staging still there.
    expect(existsSync(orphan)).toBe(true);
    const check = new Database(join(tp.dir, '.recount/state.db'), { readonly: true });
    expect(check.prepare("SELECT count(*) AS n FROM publish_intents WHERE state = 'pending'").get()).toEqual({ n: 1 });
    check.close();
  });
});
