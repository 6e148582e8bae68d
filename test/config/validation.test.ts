import { describe, expect, it } from 'vitest';
import { buildProject, getAnalyzer, type AnalyzerSource } from '../../src/config/project.ts';
import { RecountError } from '../../src/errors.ts';
import { openStateStore } from '../../src/state/open.ts';

const CONFIG = 'recount.config.ts';
const baseConfig = () => ({ datasets: { events: { root: 'data/events', grain: 'hour' } } });
const analyzer = (over: Record<string, unknown> = {}) => ({
  name: 'hourly',
  inputs: ['events'],
  grain: 'hour',
  sql: 'SELECT ad_id, count(*) AS n FROM events GROUP BY ad_id',
  ...over,
});
const src = (value: unknown, file = 'analyzers/hourly.ts'): AnalyzerSource => ({ file, value });

function build(config: unknown, sources: AnalyzerSource[] = [], env: NodeJS.ProcessEnv = {}) {
  return buildProject('/proj', CONFIG, config, sources, env);
}

function configError(config: unknown, sources: AnalyzerSource[] = [], env: NodeJS.ProcessEnv = {}): RecountError {
  try {
    build(config, sources, env);
  } catch (e) {
    expect(e).toBeInstanceOf(RecountError);
    const err = e as RecountError;
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.exitCode).toBe(2);
    expect(err.hint).toBeTruthy();
    return err;
  }
  throw new Error('expected CONFIG_INVALID');
}

describe('a valid project', () => {
  it('gets its defaults and absolute paths, and analyzer outputs become datasets', () => {
    const p = build(baseConfig(), [src(analyzer())]);
    expect(p.outputRoot).toBe('/proj/data/out');
    expect(p.spillDir).toBe('/proj/.recount/spill');
    expect(p.stateUrl).toBe('sqlite:.recount/state.db');
    expect(p.datasets.get('events')).toEqual({ name: 'events', root: '/proj/data/events', grain: 'hour' });
    expect(p.datasets.get('hourly')).toEqual({
      name: 'hourly',
      root: '/proj/data/out/hourly',
      grain: 'hour',
      producer: 'hourly',
    });
    const a = p.analyzers.get('hourly')!;
    expect(a.file).toBe('analyzers/hourly.ts');
    expect(a.threadCount).toBe(2);
    expect(a.memoryBytes).toBe(2_000_000_000);
    expect(a.fileCount).toBe('auto');
    expect(a.versionsToKeep).toBe(3);
    expect(a.checks).toEqual([]);
    expect(a.sqlHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('analyzer settings override the defaults', () => {
    const p = build({ ...baseConfig(), defaults: { memory: '1GiB', threads: 4, files: 8 }, keepVersions: 5 }, [
      src(analyzer({ memory: '512MB', threads: 1, files: 2, keepVersions: 1 })),
      src(analyzer({ name: 'other' }), 'analyzers/other.ts'),
    ]);
    expect(p.analyzers.get('hourly')).toMatchObject({
      memoryBytes: 512_000_000,
      threadCount: 1,
      fileCount: 2,
      versionsToKeep: 1,
    });
    expect(p.analyzers.get('other')).toMatchObject({
      memoryBytes: 1024 ** 3,
      threadCount: 4,
      fileCount: 8,
      versionsToKeep: 5,
    });
  });

  it('an absolute output root stays as written', () => {
    expect(build({ ...baseConfig(), output: '/srv/out' }).outputRoot).toBe('/srv/out');
  });
});

describe('an invalid recount.config.ts names the file and the field', () => {
  it.each([
    [
      "grain: 'hourly'",
      { datasets: { events: { root: 'data/events', grain: 'hourly' } } },
      'datasets.events.grain',
      /hour.*day/,
    ],
    ['a dataset with no root', { datasets: { events: { grain: 'hour' } } }, 'datasets.events.root', /expected string/],
    [
      'a dataset name that is no SQL identifier',
      { datasets: { 'My-Events': { root: 'x', grain: 'hour' } } },
      'datasets.My-Events',
      /invalid name: use lower-case/,
    ],
    ['keepVersions: 0', { ...baseConfig(), keepVersions: 0 }, 'keepVersions', />=1/],
    ['defaults.threads as a string', { ...baseConfig(), defaults: { threads: '2' } }, 'defaults.threads', /number/],
    ["defaults.files: 'many'", { ...baseConfig(), defaults: { files: 'many' } }, 'defaults.files', /auto/],
    ['no datasets', {}, 'datasets', /expected record/],
  ])('%s', (_name, config, field, why) => {
    const e = configError(config);
    expect(e.message.startsWith(`${CONFIG}: `)).toBe(true);
    expect(e.message).toContain(field);
    expect(e.message).toMatch(why);
    expect(e.subject).toBe(`${CONFIG}: ${field}`);
  });

  it('an unknown (misspelt) field is named', () => {
    const e = configError({ ...baseConfig(), outptu: 'data/out' });
    expect(e.message).toContain('outptu');
    expect(e.subject).toBe(`${CONFIG}: `);
  });

  it("defaults.memory that is not a size names the field and shows a size's form", () => {
    const e = configError({ ...baseConfig(), defaults: { memory: 'lots' } }, [src(analyzer())]);
    expect(e.message).toContain(`${CONFIG}: defaults.memory`);
    expect(e.message).toContain("'lots'");
    expect(e.hint).toContain('512MB');
  });

  it('a config that is not an object at all', () => {
    expect(configError(undefined).message).toContain(CONFIG);
  });
});

describe('an invalid analyzer names its file and the field', () => {
  it.each([
    ['files: 0', analyzer({ files: 0 }), 'files', />=1/],
    ["grain: 'hourly'", analyzer({ grain: 'hourly' }), 'grain', /hour/],
    ['an empty sql', analyzer({ sql: '' }), 'sql', /empty/],
    ['no inputs', analyzer({ inputs: [] }), 'inputs', /at least one input/],
    ['a name with capitals', analyzer({ name: 'Hourly' }), 'name', /lower-case/],
    ['threads: 0', analyzer({ threads: 0 }), 'threads', />=1/],
    ['keys: []', analyzer({ keys: [] }), 'keys', />=1/],
    ['a check with no sql', analyzer({ checks: [{ name: 'c' }] }), 'checks.0.sql', /expected string/],
    [
      "a check severity 'fatal'",
      analyzer({ checks: [{ name: 'c', sql: 'SELECT 1', severity: 'fatal' }] }),
      'checks.0.severity',
      /error.*warn/,
    ],
  ])('%s', (_name, value, field, why) => {
    const e = configError(baseConfig(), [src(value)]);
    expect(e.message.startsWith('analyzers/hourly.ts: ')).toBe(true);
    expect(e.message).toContain(`${field}:`);
    expect(e.message).toMatch(why);
    expect(e.subject).toBe(`analyzers/hourly.ts: ${field}`);
  });

  it('a misspelt field (thread) is named', () => {
    const e = configError(baseConfig(), [src(analyzer({ thread: 2 }))]);
    expect(e.message).toContain('analyzers/hourly.ts');
    expect(e.message).toContain('"thread"');
  });

  it("memory: 'lots' names the analyzer file and field", () => {
    const e = configError(baseConfig(), [src(analyzer({ memory: 'lots' }))]);
    expect(e.message).toContain('analyzers/hourly.ts: hourly: memory');
    expect(e.hint).toContain('2GB');
  });

  it('a default export that is not an object', () => {
    const e = configError(baseConfig(), [src('SELECT 1')]);
    expect(e.message).toContain('analyzers/hourly.ts');
  });

  it('two analyzers of one name name both files', () => {
    const e = configError(baseConfig(), [src(analyzer()), src(analyzer(), 'analyzers/copy.ts')]);
    expect(e.message).toContain('analyzers/copy.ts');
    expect(e.message).toContain('analyzers/hourly.ts');
    expect(e.hint).toContain('unique');
  });

  it('an analyzer named like a dataset', () => {
    const e = configError(baseConfig(), [src(analyzer({ name: 'events' }))]);
    expect(e.subject).toBe('analyzers/hourly.ts: name');
    expect(e.message).toContain(CONFIG);
  });
});

describe('inputs and dependencies', () => {
  it('an unknown input names the file, the position and the known datasets', () => {
    const e = configError(baseConfig(), [src(analyzer({ inputs: ['events', 'evnts'] }))]);
    expect(e.message).toBe("analyzers/hourly.ts: inputs.1: unknown dataset 'evnts'");
    expect(e.subject).toBe('analyzers/hourly.ts: inputs.1');
    expect(e.hint).toContain('events, hourly');
    expect(e.hint).toContain(CONFIG);
  });

  it("'output' is reserved for the staged output that checks read", () => {
    const e = configError({ datasets: { output: { root: 'x', grain: 'hour' } } }, [
      src(analyzer({ inputs: ['output'] })),
    ]);
    expect(e.subject).toBe('analyzers/hourly.ts: inputs.0');
    expect(e.message).toContain('reserved');
  });

  it('an analyzer may read another analyzer (a daily rollup of an hourly output)', () => {
    const p = build(baseConfig(), [
      src(analyzer()),
      src(analyzer({ name: 'daily', grain: 'day', inputs: ['hourly'] }), 'analyzers/daily.ts'),
    ]);
    expect(p.analyzers.get('daily')!.inputs).toEqual(['hourly']);
  });

  it('a cycle of analyzers is rejected, showing the cycle', () => {
    const e = configError(baseConfig(), [
      src(analyzer({ name: 'a', inputs: ['c'] }), 'analyzers/a.ts'),
      src(analyzer({ name: 'b', inputs: ['a'] }), 'analyzers/b.ts'),
      src(analyzer({ name: 'c', inputs: ['events', 'b'] }), 'analyzers/c.ts'),
    ]);
    expect(e.message).toContain('a -> c -> b -> a');
    expect(e.subject).toBe('analyzers/a.ts');
  });

  it('an analyzer reading its own output is a cycle', () => {
    const e = configError(baseConfig(), [src(analyzer({ inputs: ['events', 'hourly'] }))]);
    expect(e.message).toContain('hourly -> hourly');
    expect(e.hint).toMatch(/its own output/);
  });
});

describe('lookups', () => {
  it('an unknown analyzer is ANALYZER_UNKNOWN (exit 2) listing the known ones', () => {
    const p = build(baseConfig(), [src(analyzer())]);
    let err: RecountError | undefined;
    try {
      getAnalyzer(p, 'hourlyy');
    } catch (e) {
      err = e as RecountError;
    }
    expect(err?.code).toBe('ANALYZER_UNKNOWN');
    expect(err?.exitCode).toBe(2);
    expect(err?.message).toContain("'hourlyy'");
    expect(err?.hint).toBe('known analyzers: hourly');
  });

  it('with no analyzers the hint says where to add one', () => {
    const p = build(baseConfig());
    expect(() => getAnalyzer(p, 'x')).toThrow(RecountError);
    try {
      getAnalyzer(p, 'x');
    } catch (e) {
      expect((e as RecountError).hint).toContain('analyzers/');
    }
  });

  it('an unsupported state store URL is CONFIG_INVALID naming the setting without leaking a password', async () => {
    const err = await openStateStore('mysql://user:secret@db/recount', '/proj').then(
      () => undefined,
      (e: unknown) => e as RecountError,
    );
    expect(err?.code).toBe('CONFIG_INVALID');
    expect(err?.subject).toBe('state');
    expect(err?.message).not.toContain('secret');
  });
});
