import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeProject, type TestProject } from '../helpers/project.ts';

const A = 'soft_checked';
const P = '2023-10-12T00';

// A `severity: 'warn'` check does not block the publish, but `recount run` must still say it failed.
describe('recount run: non-blocking checks that fail', () => {
  let tp: TestProject;

  beforeAll(async () => {
    tp = await makeProject({
      examples: false,
      hours: 1,
      rowsPerHour: 2000,
      analyzers: {
        [A]: `import { defineAnalyzer } from 'recount';
export default defineAnalyzer({
  name: '${A}',
  inputs: ['events'],
  grain: 'hour',
  sql: \`SELECT ad_id, count(*) AS n FROM events GROUP BY ad_id\`,
  files: 2,
  checks: [
    { name: 'no_busy_ads', severity: 'warn', sql: 'SELECT ad_id, n FROM output WHERE n > 1 ORDER BY ad_id' },
    { name: 'positive', sql: 'SELECT * FROM output WHERE n <= 0' },
  ],
});
`,
      },
    });
  });
  afterAll(() => tp?.cleanup());

  it('publishes, exits 0, and prints the failed warn check with its count and a first row; the passing check is not listed', () => {
    const r = tp.cli(['run', A, '--partition', P]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`${A} ${P}: published v1`);
    const line = r.stdout.split('\n').find((l) => l.includes('check no_busy_ads'));
    expect(line).toMatch(/check no_busy_ads \(warn\) failed on [\d,]+ row\(s\), published anyway; first: \{"ad_id":/);
    expect(r.stdout).not.toContain('check positive');

    const j = tp.cli(['--json', 'run', A, '--partition', P]);
    expect(j.code).toBe(0);
    expect(j.json.checks).toContainEqual(
      expect.objectContaining({ name: 'no_busy_ads', severity: 'warn', passed: false }),
    );
  });
});
