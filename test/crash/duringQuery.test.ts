import { closeSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutputLayout } from '../../src/commit/paths.ts';
import { assertRecovered, cleanCopy } from '../helpers/invariants.ts';
import { makeProject, type TestProject } from '../helpers/project.ts';

// The during-query fault point kills a run while DuckDB is writing the staged Parquet: with an output big enough
// for DuckDB to flush row groups before it finishes the file, the kill lands mid-file (bytes on disk, no footer).
// Recovery must remove that half-written file and the retry publish the fault-free rows.
const ANALYZER = 'wide_events';
const PARTITION = '2023-10-12T00';
const wide = `import { defineAnalyzer } from 'recount';
export default defineAnalyzer({
  name: 'wide_events', inputs: ['events'], grain: 'hour', keys: ['event_id'], files: 1,
  sql: 'SELECT event_id, user_id, ad_id, bid_price FROM events',
});`;

/** The last 4 bytes of a file: `PAR1` once a Parquet file's footer is written. */
function tail4(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(4);
    readSync(fd, buf, 0, 4, Math.max(0, statSync(path).size - 4));
    return buf.toString('latin1');
  } finally {
    closeSync(fd);
  }
}

describe('during-query: killed while DuckDB writes the staged files', () => {
  let tp: TestProject;
  let baseline: ReturnType<typeof cleanCopy>;

  beforeAll(async () => {
    tp = await makeProject({ examples: false, analyzers: { wide_events: wide }, hours: 1, rowsPerHour: 400_000 });
    baseline = cleanCopy(tp);
    const b = baseline.cli(['run', ANALYZER, '--partition', PARTITION]);
    expect(b.code, b.stderr).toBe(0);
  });
  afterAll(() => {
    tp?.cleanup();
    baseline?.cleanup();
  });

  it('the kill leaves a half-written staged file (bytes, no footer); the retry recovers and publishes the fault-free rows', async () => {
    const killed = tp.cli(['--json', 'run', ANALYZER, '--partition', PARTITION], { RECOUNT_FAULT: 'during-query' });
    expect(killed.signal, killed.stderr).toBe('SIGKILL');
    const staging = new OutputLayout(join(tp.dir, 'data/out')).stagingRoot;
    const [attempt] = readdirSync(staging);
    // Bucket 0's file, named with the attempt's version tag (part-00000-<tag>.parquet).
    const name = readdirSync(join(staging, attempt!)).find((f) => f.startsWith('part-00000'));
    expect(name, 'the first bucket file was staged').toBeDefined();
    const file = join(staging, attempt!, name!);
    expect(statSync(file).size, 'staged bytes on disk at the kill').toBeGreaterThan(0);
    expect(tail4(file), 'the kill came before DuckDB finished the file (no Parquet footer)').not.toBe('PAR1');

    const retry = tp.cli(['--json', 'run', ANALYZER, '--partition', PARTITION]);
    expect(retry.code, retry.stderr).toBe(0);
    const view = await assertRecovered(tp, {
      analyzer: ANALYZER,
      partition: PARTITION,
      baselineOutput: join(baseline.dir, 'data/out'),
    });
    expect(view.version).toBe(1);
  });
});
