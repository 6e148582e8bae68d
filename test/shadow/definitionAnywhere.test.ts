import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { publishRuns } from '../helpers/publish.ts';
import { makeProject, tempDir, type TestProject } from '../helpers/project.ts';

// A candidate definition is usually a file someone just wrote: ~/cand.ts or /tmp/cand.ts, with no
// package.json near it. It must load as TypeScript and as an ES module from there, with or without
// `import { defineAnalyzer } from 'recount'`, and with relative imports of its own (B2).

const H = 'ad_impressions_hourly';
const P = '2023-10-12T00';
const SQL =
  "SELECT ad_id, user_segment, count(*) + 1 AS impression_count, sum(bid_price) AS total_bid FROM events WHERE event_type = 'impression' GROUP BY ad_id, user_segment";

const CANDIDATES: Record<string, string> = {
  'with_import.ts': `import { defineAnalyzer } from 'recount';
const files: number = 4;
export default defineAnalyzer({ name: '${H}', inputs: ['events'], grain: 'hour', sql: "${SQL}", files });
`,
  'plain_object.ts': `const grain: 'hour' = 'hour';
export default { name: '${H}', inputs: ['events'], grain, sql: "${SQL}", files: 4 };
`,
  'with_helper.ts': `import { defineAnalyzer } from 'recount';
import { sql } from './lib/sql.ts';
export default defineAnalyzer({ name: '${H}', inputs: ['events'], grain: 'hour', sql, files: 4 });
`,
  'lib/sql.ts': `export const sql: string = "${SQL}";
`,
};

describe('shadow --definition outside the project', () => {
  let tp: TestProject;
  let elsewhere: string;
  beforeAll(async () => {
    tp = await makeProject({ hours: 1, rowsPerHour: 1000 });
    await publishRuns(tp, [[H, P]]);
    elsewhere = tempDir('recount-candidate-');
    for (const [name, src] of Object.entries(CANDIDATES)) {
      mkdirSync(dirname(join(elsewhere, name)), { recursive: true });
      writeFileSync(join(elsewhere, name), src);
    }
  });
  afterAll(() => {
    tp.cleanup();
    rmSync(elsewhere, { recursive: true, force: true });
  });

  it('the folder holding the candidates has no package.json up to the root', () => {
    for (let d = elsewhere; d !== dirname(d); d = dirname(d))
      expect(existsSync(join(d, 'package.json')), d).toBe(false);
  });

  it.each(['with_import.ts', 'plain_object.ts', 'with_helper.ts'])(
    '%s loads and runs in shadow: every key changed by one',
    (file) => {
      const r = tp.cli(['--json', 'shadow', H, '--definition', join(elsewhere, file), '--from', P, '--to', P]);
      expect(r.json?.error, r.stdout + r.stderr).toBeUndefined();
      expect(r.code).toBe(1);
      const [p] = r.json.partitions;
      expect(p).toMatchObject({ status: 'compared', added: 0, removed: 0, unchanged: 0 });
      expect(p.changed).toBeGreaterThan(0);
    },
  );
});
