// Test projects whose analyzers run on a given Spark Connect server: the example config with an engine, and
// one attempt run in this process, for the Spark fault and stability tests.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getAnalyzer } from '../../../src/config/project.ts';
import { runPartition, type AttemptResult } from '../../../src/run/runPartition.ts';
import { REPO, type TestProject } from '../../helpers/project.ts';

/** The example recount.config.ts with every analyzer on the Spark Connect server at `remote` (4 shuffle partitions: tiny data). */
export function sparkConfigSource(remote: string): string {
  return readFileSync(join(REPO, 'examples/ad-tech/recount.config.ts'), 'utf8').replace(
    "output: 'data/out',",
    `output: 'data/out',\n  engine: { spark: { remote: ${JSON.stringify(remote)}, conf: { 'spark.sql.shuffle.partitions': '4' } } },`,
  );
}

/**
 * An hourly analyzer over the events, keyed by (ad_id, user_segment) in 4 files. `extraWhere` is a Spark SQL
 * condition added to the WHERE, e.g. a `reflect` call that sleeps per row so the Spark job lasts long enough to be hit.
 */
export function bidsAnalyzer(name: string, extraWhere = 'true'): string {
  return `import { defineAnalyzer } from 'recount';
export default defineAnalyzer({
  name: '${name}',
  inputs: ['events'],
  grain: 'hour',
  sql: \`SELECT ad_id, user_segment, count(*) AS impression_count, sum(bid_price) AS total_bid
        FROM events WHERE event_type = 'impression' AND (${extraWhere.replace(/`/g, '\\`')})
        GROUP BY ad_id, user_segment\`,
  files: 4,
});
`;
}

/**
 * For a test that runs analyzers on a server of its own: RECOUNT_SPARK_REMOTE (set when the suite uses an existing
 * server) would replace the config's remote. Call in beforeAll; the returned function (afterAll) puts it back.
 */
export function withoutRemoteOverride(): () => void {
  const saved = process.env.RECOUNT_SPARK_REMOTE;
  delete process.env.RECOUNT_SPARK_REMOTE;
  return () => {
    if (saved !== undefined) process.env.RECOUNT_SPARK_REMOTE = saved;
  };
}

/** Run one attempt of `analyzer` on `partition` in this process, against the project's state store. */
export async function runOnce(tp: TestProject, analyzer: string, partition: string): Promise<AttemptResult> {
  const ctx = await tp.open();
  try {
    return await runPartition(ctx, getAnalyzer(ctx.project, analyzer), partition, { threads: 1 });
  } finally {
    await ctx.close();
  }
}
