import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { publishRuns } from '../helpers/publish.ts';
import { makeProject, type TestProject } from '../helpers/project.ts';

// A shadow namespace holds the runs of one candidate definition of one analyzer (U7): reusing its name for
// another definition or analyzer is refused rather than mixing the two; rerunning the same one carries on.
// A candidate that calls itself something else is run in the production analyzer's place, with a warning.
// --drop of a name that does not exist is bad usage.

const H = 'ad_impressions_hourly';
const P = '2023-10-12T00';
const candidate = (name: string, extra: string) => `import { defineAnalyzer } from 'recount';
export default defineAnalyzer({ name: '${name}', inputs: ['events'], grain: 'hour', files: 4,
  sql: "SELECT ad_id, user_segment, count(*)${extra} AS impression_count, sum(bid_price) AS total_bid FROM events WHERE event_type = 'impression' GROUP BY ad_id, user_segment" });
`;

describe('shadow namespaces and candidates', () => {
  let tp: TestProject;
  const file = (n: string) => join(tp.dir, 'candidates', n);
  const shadow = (def: string, ...more: string[]) =>
    tp.cli(['--json', 'shadow', H, '--definition', file(def), '--from', P, '--to', P, ...more]);
  const versionsIn = (ns: string) =>
    readdirSync(join(tp.dir, 'data/out/.recount/shadow', ns, 'out/.recount/versions', H, P)).sort();
  beforeAll(async () => {
    tp = await makeProject({ hours: 1, rowsPerHour: 1000 });
    mkdirSync(join(tp.dir, 'candidates'));
    writeFileSync(file('plus_one.ts'), candidate(H, ' + 1'));
    writeFileSync(file('plus_two.ts'), candidate(H, ' + 2'));
    writeFileSync(file('renamed.ts'), candidate('hourly_candidate', ' + 1'));
    await publishRuns(tp, [[H, P]]);
  });
  afterAll(() => tp.cleanup());

  it('a candidate named otherwise runs in the production analyzer’s place, and says so', () => {
    const r = shadow('renamed.ts');
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.json.warnings).toEqual([
      expect.stringContaining(`names its analyzer 'hourly_candidate': the shadow runs it as '${H}'`),
    ]);
    expect(r.stderr).toContain("warning: candidates/renamed.ts names its analyzer 'hourly_candidate'");
  });

  it('the same definition again carries on in its namespace; another definition under that name is refused (exit 2) and changes nothing', () => {
    expect(shadow('plus_one.ts', '--name', 'ns').json.partitions[0]).toMatchObject({
      status: 'compared',
      shadowVersion: 1,
    });
    expect(shadow('plus_one.ts', '--name', 'ns').json.partitions[0]).toMatchObject({
      status: 'compared',
      shadowVersion: 2,
    });
    const other = shadow('plus_two.ts', '--name', 'ns');
    expect(other.code).toBe(2);
    expect(other.json.error).toMatchObject({
      code: 'USAGE',
      message: `shadow namespace 'ns' holds runs of another definition (${file('plus_one.ts')}, as it was then), not of this candidate for ${H}`,
      hint: expect.stringContaining('recount shadow --drop ns'),
    });
    expect(versionsIn('ns')).toEqual(['v000001', 'v000002']);
    // Editing the file is another definition too.
    writeFileSync(file('plus_one.ts'), candidate(H, ' + 100'));
    expect(shadow('plus_one.ts', '--name', 'ns').code).toBe(2);
  });

  it('a candidate of another analyzer under a used name is refused', () => {
    const r = tp.cli([
      '--json',
      'shadow',
      'ad_impressions_daily',
      '--definition',
      join(tp.dir, 'analyzers/ad_impressions_daily.ts'),
      '--from',
      '2023-10-12',
      '--to',
      '2023-10-12',
      '--name',
      'ns',
    ]);
    expect(r.code).toBe(2);
    expect(r.json.error.message).toContain(`holds runs of analyzer ${H}`);
  });

  it('--drop of an unknown name is a usage error (exit 2) naming the namespaces there are', () => {
    const r = tp.cli(['--json', 'shadow', '--drop', 'nope']);
    expect(r.code).toBe(2);
    expect(r.json.error).toMatchObject({
      code: 'USAGE',
      message: "no shadow namespace named 'nope'",
      hint: 'shadow namespaces: ns, renamed',
    });
    expect(tp.cli(['--json', 'shadow', '--drop', 'ns']).json).toEqual({ ok: true, dropped: 'ns' });
  });
});
