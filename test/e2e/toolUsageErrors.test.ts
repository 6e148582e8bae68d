import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeProject, type TestProject } from '../helpers/project.ts';

// A bad option value is bad usage: exit 2 with one message naming the option, never a stack trace, and
// under --json the same JSON error document every other error prints (U8, B1).

const H = 'ad_impressions_hourly';
const P = '2023-10-12T00';

const BAD: [string, string[], string][] = [
  ['diff --rel abc', ['diff', H, '--partition', P, '--rel', 'abc'], "--rel must be a non-negative number, got 'abc'"],
  ['diff --abs -1', ['diff', H, '--partition', P, '--abs', '-1'], "--abs must be a non-negative number, got '-1'"],
  [
    'shadow --rel 1e',
    ['shadow', H, '--definition', 'x.ts', '--from', P, '--to', P, '--rel', '1e'],
    "--rel must be a non-negative number, got '1e'",
  ],
  ['audit --abs NaN', ['audit', H, '--partition', P, '--abs', 'NaN'], "--abs must be a non-negative number, got 'NaN'"],
  ['gc --keep 0', ['gc', '--keep', '0'], "--keep must be a whole number of at least 1, got '0'"],
  [
    'diff --from 0',
    ['diff', H, '--partition', P, '--from', '0'],
    "--from must be a whole number of at least 1, got '0'",
  ],
  [
    'diff --to 1.5',
    ['diff', H, '--partition', P, '--to', '1.5'],
    "--to must be a whole number of at least 1, got '1.5'",
  ],
  [
    'shadow --threads 0',
    ['shadow', H, '--definition', 'x.ts', '--from', P, '--to', P, '--threads', '0'],
    "--threads must be a whole number of at least 1, got '0'",
  ],
];

describe('usage errors of diff, shadow, audit, gc and doctor', () => {
  let tp: TestProject;
  beforeAll(async () => {
    tp = await makeProject({ hours: 0 });
  });
  afterAll(() => tp.cleanup());

  it.each(BAD)('%s: exit 2 with a message naming the option, no stack trace', (_, args, says) => {
    const r = tp.cli(args);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(says);
    expect(r.stderr).not.toMatch(/RecountError|\n\s+at .*\.(m?js|ts):\d+/);
  });

  it.each(BAD)('%s under --json: one JSON error document on stdout, exit 2', (_, args, says) => {
    for (const argv of [
      ['--json', ...args],
      [...args, '--json'],
    ]) {
      const r = tp.cli(argv);
      expect(r.code, r.stderr).toBe(2);
      expect(r.json, r.stdout).toMatchObject({
        ok: false,
        error: { code: 'USAGE', message: expect.stringContaining(says) },
      });
    }
  });

  it('an unknown option or a missing required one under --json is a JSON usage error too', () => {
    const unknown = tp.cli(['--json', 'doctor', '--no-such-option']);
    expect(unknown.code).toBe(2);
    expect(unknown.json.error).toMatchObject({
      code: 'USAGE',
      message: "unknown option '--no-such-option'",
      subject: 'recount doctor',
    });
    const missing = tp.cli(['--json', 'audit', H]);
    expect(missing.code).toBe(2);
    expect(missing.json.error).toMatchObject({
      code: 'USAGE',
      message: expect.stringContaining("'--partition <id>' not specified"),
    });
  });
});
