import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeProject, type TestProject } from '../helpers/project.ts';

// doctor's text output names the thing at fault, as --json does: for a lint finding, the analyzer file and
// the line of its SQL (U2).

const STAMPED = `import { defineAnalyzer } from 'recount';
export default defineAnalyzer({ name: 'stamped', inputs: ['events'], grain: 'hour', sql: \`SELECT ad_id,
  count(*) AS n,
  now() AS computed_at
  FROM events GROUP BY ad_id\` });
`;

describe('doctor text output', () => {
  let tp: TestProject;
  beforeAll(async () => {
    tp = await makeProject({ hours: 1, rowsPerHour: 500, analyzers: { stamped: STAMPED } });
  });
  afterAll(() => tp.cleanup());

  it('shows the file and line of a lint finding', () => {
    const r = tp.cli(['doctor', '--min-free', '1B']);
    expect(r.code, r.stderr).toBe(1);
    const line = r.stdout.split('\n').find((l) => l.includes('nondeterministic-function'));
    expect(line).toContain('lint (analyzers/stamped.ts:3): stamped: nondeterministic-function: now()');
  });
});
