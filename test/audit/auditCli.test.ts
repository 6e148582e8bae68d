import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { makeProject, type TestProject } from '../helpers/project.ts';

// What `recount audit` prints (U3): a partition that is not ready is refused once, as bad usage; each lint
// finding is printed once; what "keys that moved file" and "byte-identical files" mean is said, so 0 of 4
// identical files does not read as a contradiction of a stable layout.

const H = 'ad_impressions_hourly';
const RANDOM = `import { defineAnalyzer } from 'recount';
export default defineAnalyzer({ name: 'audit_random', inputs: ['events'], grain: 'hour',
  sql: 'SELECT ad_id, count(*) AS n, random() AS r FROM events GROUP BY ad_id', files: 2 });
`;

const count = (text: string, needle: string) => text.split(needle).length - 1;

describe('recount audit on the command line', () => {
  let tp: TestProject;
  beforeAll(async () => {
    // 300k events: enough row groups that threads split the DOUBLE sums (as test/audit/audit.test.ts shows).
    tp = await makeProject({ hours: 1, rowsPerHour: 300_000, analyzers: { audit_random: RANDOM } });
  });
  afterAll(() => tp.cleanup());

  it('a partition that is not ready: one usage error (exit 2), no run started', () => {
    const r = tp.cli(['audit', H, '--partition', '2023-10-12T05', '--runs', '4']);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(count(r.stdout + r.stderr, 'is not ready')).toBe(1);
    expect(r.stdout).not.toContain('run 1');
    expect(existsSync(join(tp.dir, 'data/out/.recount/audit'))).toBe(false);
    const j = tp.cli(['--json', 'audit', H, '--partition', '2023-10-12T05']);
    expect(j.code).toBe(2);
    expect(j.json.error).toMatchObject({
      code: 'USAGE',
      message: expect.stringContaining("cannot audit ad_impressions_hourly 2023-10-12T05: input 'events' is not ready"),
    });
  });

  it('a lint error is printed once, among the lint lines, and counted among the problems (exit 1)', () => {
    const r = tp.cli(['audit', 'audit_random', '--partition', '2023-10-12T00', '--runs', '2']);
    expect(r.code, r.stderr).toBe(1);
    expect(count(r.stdout, 'random() returns a different value on every run')).toBe(1);
    expect(r.stdout).toContain('2 problem(s):');
    expect(r.stdout).toContain('column r (DOUBLE) differs between runs');
    expect(r.stdout).toContain('1 lint error(s), above');
  });

  it('says what a key move and a byte-identical file are, and never calls the files stable', () => {
    const r = tp.cli(['audit', H, '--partition', '2023-10-12T00', '--runs', '3']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('keys that moved file: 0 (each key must land in the same output file in every run, I3)');
    expect(r.stdout).not.toContain('files stable');
    expect(r.stdout).toMatch(
      /byte-identical files: 0 of 4 — differ: .*; a file's bytes change whenever any value in it does, e.g. a float sum's last bits, even with every key in its place/,
    );
    expect(r.stdout).toContain(
      'deterministic within the tolerance over 3 run(s) with 1, 2, 4 threads: the same keys and rows, every key in the same file; total_bid differ(s) only in the last bits',
    );
  });
});
