import { afterAll, beforeAll, expect, it } from 'vitest';
import { checkAnalyzer, type AnalyzerCheck } from '../../src/audit/lintAnalyzer.ts';
import { makeProject, type TestProject } from '../helpers/project.ts';

/** A fixture analyzer holding one pattern the lint must find: that rule, at that severity, with a message saying this. */
export interface LintFixture {
  readonly sql: string;
  readonly extra?: string;
  readonly rule: string;
  readonly severity: 'error' | 'warning';
  readonly says: string;
}

/** An analyzer file over `events`, hourly, with the given SQL (in a template literal) and extra fields. */
export const fixture = (name: string, sql: string, extra = '') => `import { defineAnalyzer } from 'recount';
export default defineAnalyzer({ name: '${name}', inputs: ['events'], grain: 'hour', sql: \`${sql}\`${extra} });
`;

/**
 * Inside a describe: a project holding the fixtures and the clean analyzers (and the shipped examples unless
 * `examples: false`), each checked once; a test per fixture that the lint finds its pattern and only it, and
 * per clean analyzer that it finds nothing. Returns the checks, by analyzer name, for further tests.
 */
export function lintFixtureTests(
  fixtures: Record<string, LintFixture>,
  clean: Record<string, string>,
  opts: { examples?: boolean } = {},
): Map<string, AnalyzerCheck> {
  let tp: TestProject;
  const checks = new Map<string, AnalyzerCheck>();
  beforeAll(async () => {
    const analyzers: Record<string, string> = {};
    for (const [name, f] of Object.entries(fixtures)) analyzers[name] = fixture(name, f.sql, f.extra);
    for (const [name, sql] of Object.entries(clean)) analyzers[name] = fixture(name, sql);
    tp = await makeProject({ hours: 1, rowsPerHour: 500, examples: opts.examples, analyzers });
    const ctx = await tp.open();
    try {
      for (const a of ctx.project.analyzers.values()) checks.set(a.name, await checkAnalyzer(ctx, a));
    } finally {
      await ctx.close();
    }
  });
  afterAll(() => tp.cleanup());

  it.each(Object.keys(fixtures))('finds the pattern of %s, and only it', (name) => {
    const f = fixtures[name]!;
    const c = checks.get(name)!;
    expect(c.compiles, c.error).toBe(true);
    expect(
      c.lint.map((x) => [x.rule, x.severity]),
      JSON.stringify(c.lint),
    ).toEqual([[f.rule, f.severity]]);
    expect(c.lint[0]!.message).toContain(f.says);
  });

  it.each(Object.keys(clean))('finds nothing in %s', (name) => {
    const c = checks.get(name)!;
    expect(c.compiles, `${name}: ${c.error}`).toBe(true);
    expect(c.lint).toEqual([]);
  });
  return checks;
}
