import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { lit } from '../../../src/engine/sql.ts';
import { assertPublishedComplete, assertSameRows, type PublishedView } from '../../helpers/invariants.ts';
import { duck, makeProject, type TestProject } from '../../helpers/project.ts';
import { sparkRemote } from '../../spark/remote.ts';
import { startSparkConnect, type SparkServer } from '../../spark/sparkServer.ts';
import { bidsAnalyzer, runOnce, sparkConfigSource, withoutRemoteOverride } from './sparkProject.ts';

// I3 across Spark deployments: the same analyzer over the same input, on a one-core server (local[1]) and on the
// suite's two-core one (local[2]), and rerun, puts every key in the same bucket file with the same rows.

const ANALYZER = 'bids';
const PARTITION = '2023-10-12T00';

/** Every key of a published version with the bucket of the file it sits in (`part-00002-<tag>.parquet` -> 2). */
async function keyBuckets(view: PublishedView): Promise<string[]> {
  const rows = await duck<{ k: string }>(
    `SELECT concat_ws('|', ad_id, user_segment, regexp_extract(parse_filename(filename), '^part-(\\d+)', 1)) AS k
     FROM read_parquet(${lit(join(view.path, '*.parquet'))}, filename = true, hive_partitioning = false) ORDER BY k`,
  );
  return rows.map((r) => r.k);
}

async function publishOn(tp: TestProject): Promise<PublishedView> {
  const result = await runOnce(tp, ANALYZER, PARTITION);
  expect(result.error).toBeUndefined();
  expect(result.status).toBe('succeeded');
  return (await assertPublishedComplete(join(tp.dir, 'data/out'), ANALYZER, PARTITION))!;
}

describe('key stability of the Spark layout over thread counts and reruns', () => {
  let one: SparkServer;
  let onOne: TestProject;
  let onTwo: TestProject;
  let restoreRemote: () => void;

  beforeAll(async () => {
    restoreRemote = withoutRemoteOverride();
    one = await startSparkConnect({ master: 'local[1]', ownerPid: process.pid });
    const project = (remote: string) =>
      makeProject({
        examples: false,
        analyzers: { [ANALYZER]: bidsAnalyzer(ANALYZER) },
        hours: 1,
        rowsPerHour: 3000,
        seed: 5,
        config: sparkConfigSource(remote),
      });
    onOne = await project(one.remote);
    onTwo = await project(sparkRemote());
  });
  afterAll(async () => {
    restoreRemote?.();
    await one?.stop();
    onOne?.cleanup();
    onTwo?.cleanup();
  });

  it('local[1] and local[2] publish the same key -> file assignment and rows, and so does a rerun', async () => {
    const two = await publishOn(onTwo);
    const single = await publishOn(onOne);
    const rerun = await publishOn(onOne);
    expect([two.version, single.version, rerun.version]).toEqual([1, 1, 2]);

    const assignment = await keyBuckets(two);
    expect(assignment.length).toBeGreaterThan(100);
    expect(await keyBuckets(single)).toEqual(assignment);
    expect(await keyBuckets(rerun)).toEqual(assignment);
    // Rows equal file by file (integers exactly, the float sum within 1e-9), per-file row counts in the manifests too.
    await assertSameRows(single.path, two.path, single.manifest);
    await assertSameRows(rerun.path, two.path, rerun.manifest);
    const perFile = (v: PublishedView) => v.manifest.files.map((f) => f.rows);
    expect(perFile(single)).toEqual(perFile(two));
    expect(perFile(rerun)).toEqual(perFile(two));
    expect(single.manifest.layout).toEqual(two.manifest.layout);
  }, 900_000);
});
