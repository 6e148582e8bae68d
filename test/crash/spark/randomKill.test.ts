import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, existsSync, readdirSync, realpathSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { OutputLayout } from '../../../src/commit/paths.ts';
import { lit } from '../../../src/engine/sql.ts';
import {
  assertNoOrphans,
  assertPublishedComplete,
  assertReaderSeesOnlyCommitted,
  assertSameRows,
  type PublishedView,
} from '../../helpers/invariants.ts';
import { duck, makeProject, tempDir, type TestProject } from '../../helpers/project.ts';
import { answerSql, startReaderProcess, sumTallies } from '../../helpers/readers.ts';
import { sparkRemote } from '../../spark/remote.ts';
import { sparkConfigSource } from '../../run/spark/sparkProject.ts';
import { ANALYZER, assertReadersI1, hour } from '../harness.ts';
import { prng, runWatched } from '../watchedRun.ts';

// `recount run` on Spark killed with SIGKILL at instants a seeded PRNG picks inside its attempt (timed from its
// staging folder appearing, over the length of a fault-free attempt), while a glob reader and a `recount files`
// reader read the partition in their own processes; after each kill a plain retry publishes the fault-free rows.
// Counted over all seeds: duplicate keys, missing keys and mixed reads, all 0. Seeds make a failure replayable.

const SEEDS = [11, 12, 13];
const PARTITION = hour(0);
const KEYS = 'ad_id, user_segment';

/** Keys published twice, and keys of the fault-free output missing from the published one. */
async function keyFaults(view: PublishedView, baseline: string): Promise<{ duplicates: number; missing: number }> {
  const pub = `read_parquet(${lit(join(view.path, '*.parquet'))}, hive_partitioning = false)`;
  const base = `read_parquet(${lit(join(baseline, '*.parquet'))}, hive_partitioning = false)`;
  const [r] = await duck<{ duplicates: string; missing: string }>(
    `SELECT (SELECT count(*) - count(DISTINCT (${KEYS})) FROM ${pub}) AS duplicates,
            (SELECT count(*) FROM (SELECT ${KEYS} FROM ${base} EXCEPT SELECT ${KEYS} FROM ${pub})) AS missing`,
  );
  return { duplicates: Number(r!.duplicates), missing: Number(r!.missing) };
}

/** Where a killed attempt was, from what it left in its staging folder (read before the retry's recovery removes it). */
function stagedState(stagingRoot: string): string {
  const attempts = existsSync(stagingRoot) ? readdirSync(stagingRoot) : [];
  if (attempts.length === 0) return 'no staging left (past its publish, or before its folder)';
  const left = readdirSync(join(stagingRoot, attempts[0]!));
  if (left.includes('_manifest.json')) return 'after its manifest';
  if (left.some((f) => f.startsWith('_spark_'))) return 'in the Spark write';
  return `staging (${left.filter((f) => f.endsWith('.parquet')).length} files renamed into place)`;
}

/** The crash suite's two readers (the README's glob, and the files `recount files` resolves), in their own processes. */
async function startReaders(out: string, complete: string) {
  const common = { complete: [complete], a: 'ad_id', b: 'impression_count', pauseMs: 10 };
  const readers = [
    startReaderProcess({ ...common, mode: 'glob', name: 'glob', glob: join(out, ANALYZER, '*/*/*.parquet') }),
    startReaderProcess({
      ...common,
      mode: 'files',
      name: 'files',
      outputRoot: out,
      analyzer: ANALYZER,
      partition: PARTITION,
    }),
  ];
  await Promise.all(readers.map((r) => r.ready));
  return { stop: () => Promise.all(readers.map((r) => r.stop())) };
}

describe('recount run on Spark killed by SIGKILL at random instants, with concurrent readers', () => {
  let tp: TestProject;
  const baseline = tempDir('recount-spark-random-');
  const out = () => join(tp.dir, 'data/out');
  const cli = () => tp.cli(['--json', 'run', ANALYZER, '--partition', PARTITION]);
  beforeAll(async () => {
    tp = await makeProject({ hours: 1, rowsPerHour: 4000, config: sparkConfigSource(sparkRemote()) });
  });
  afterAll(() => {
    tp?.cleanup();
    rmSync(baseline, { recursive: true, force: true });
  });

  it(`${SEEDS.length} seeded kills: every retry publishes the fault-free rows; 0 duplicate keys, 0 missing keys, 0 mixed reads`, async () => {
    const stagingRoot = new OutputLayout(out()).stagingRoot;
    const run = { analyzer: ANALYZER, partition: PARTITION, stagingRoot };
    // The fault-free run publishes the first version: its rows are the baseline. A second one, warm, times the kill
    // window from its staging folder appearing to its exit, as the kills are timed (the first, cold, took ten times
    // longer once, and every kill landed after the run had ended).
    const first = cli();
    expect(first.code, first.stderr).toBe(0);
    const firstView = (await assertPublishedComplete(out(), ANALYZER, PARTITION))!;
    cpSync(realpathSync(firstView.path), baseline, { recursive: true });
    const timing = await runWatched(tp, run);
    expect(timing.code, timing.stderr).toBe(0);
    const attemptMs = Math.max(1, Math.min(Number(first.json.durationMs), timing.exitedAt - (timing.stagedAt ?? 0)));
    const glob = lit(join(baseline, '*.parquet'));
    const [{ answer }] = await duck<{ answer: string }>(
      answerSql(`read_parquet(${glob}, hive_partitioning = false)`, 'ad_id', 'impression_count'),
    );

    const readers = await startReaders(out(), answer!);
    const landed: string[] = [];
    let duplicates = 0;
    let missing = 0;
    for (const seed of SEEDS) {
      const prev = (await assertPublishedComplete(out(), ANALYZER, PARTITION))!;
      const delayMs = Math.floor(prng(seed)() * 1.1 * attemptMs);
      const killed = await runWatched(tp, run, { attemptKillMs: delayMs });
      const where = `seed ${seed}: ${delayMs} ms into a ${attemptMs} ms attempt`;
      expect(killed.signal === 'SIGKILL' || killed.code === 0, `${where}: ${killed.stderr}`).toBe(true);
      landed.push(`${where}, ${killed.signal ? `killed ${stagedState(stagingRoot)}` : 'finished first'}`);

      const now = await assertPublishedComplete(out(), ANALYZER, PARTITION);
      expect([prev.version, prev.version + 1], where).toContain(now?.version);
      await assertReaderSeesOnlyCommitted(out(), ANALYZER);

      const retry = cli();
      expect(retry.code, `${where}: ${retry.stderr}`).toBe(0);
      const view = (await assertPublishedComplete(out(), ANALYZER, PARTITION))!;
      expect(view.manifest.attemptId, where).toBe(retry.json.attemptId);
      expect(view.manifest.provenance.engine).toBe('spark');
      const faults = await keyFaults(view, baseline);
      duplicates += faults.duplicates;
      missing += faults.missing;
      await assertSameRows(view.path, baseline, view.manifest);
      // The retry's recovery interrupted the killed attempt's Spark job before removing its staging: nothing
      // makes that staging again (test/crash/spark/deadAttemptJob.test.ts).
      const ctx = await tp.open();
      try {
        await assertNoOrphans(ctx.store, out());
      } finally {
        await ctx.close();
      }
    }
    const tallies = await readers.stop();
    const all = sumTallies('all readers', tallies);
    const kills = landed.filter((l) => l.includes(', killed')).length;
    console.log(
      `spark random kill: ${kills} kills of ${SEEDS.length} runs, ${all.answers} reads (${all.loudErrors} loud glob errors), ${all.mixed} mixed, ${duplicates} duplicate keys, ${missing} missing keys\n  ${landed.join('\n  ')}`,
    );
    assertReadersI1(tallies, 'spark random kill');
    expect([duplicates, missing, all.mixed]).toEqual([0, 0, 0]);
    expect(kills, landed.join('; ')).toBeGreaterThanOrEqual(SEEDS.length / 2);
    // Eight Spark runs: about a minute on a quiet machine, far longer when eight engineers share its two cores.
  }, 1_200_000);
});
