import { describe, expect, it } from 'vitest';
import { buildProject, type AnalyzerSource } from '../../src/config/project.ts';
import { applyEnvOverrides, overridingVariable } from '../../src/config/env.ts';
import { RecountError } from '../../src/errors.ts';

const config = () => ({
  datasets: { events: { root: 'data/events', grain: 'hour' } },
  output: 'data/out',
  defaults: { memory: '1GB', threads: 2 },
  keepVersions: 3,
});
const sources: AnalyzerSource[] = [
  { file: 'analyzers/plain.ts', value: { name: 'plain', inputs: ['events'], grain: 'hour', sql: 'SELECT 1 AS a' } },
  {
    file: 'analyzers/pinned.ts',
    value: {
      name: 'pinned',
      inputs: ['events'],
      grain: 'hour',
      sql: 'SELECT 1 AS a',
      threads: 1,
      memory: '256MB',
      keepVersions: 7,
    },
  },
];
const build = (env: NodeJS.ProcessEnv) => buildProject('/proj', 'recount.config.ts', config(), sources, env);

function envError(env: NodeJS.ProcessEnv): RecountError {
  try {
    build(env);
  } catch (e) {
    expect(e).toBeInstanceOf(RecountError);
    return e as RecountError;
  }
  throw new Error('expected an error');
}

describe('RECOUNT_* environment overrides', () => {
  it('RECOUNT_OUTPUT moves the output root and every analyzer dataset with it', () => {
    const p = build({ RECOUNT_OUTPUT: '/mnt/shared/out' });
    expect(p.outputRoot).toBe('/mnt/shared/out');
    expect(p.datasets.get('plain')!.root).toBe('/mnt/shared/out/plain');
    expect(build({ RECOUNT_OUTPUT: 'rel/out' }).outputRoot).toBe('/proj/rel/out');
  });

  it('RECOUNT_THREADS and RECOUNT_MEMORY change the defaults, not an analyzer that sets its own', () => {
    const p = build({ RECOUNT_THREADS: '6', RECOUNT_MEMORY: '3GB' });
    expect(p.config.defaults.threads).toBe(6);
    expect(p.analyzers.get('plain')).toMatchObject({ threadCount: 6, memoryBytes: 3_000_000_000 });
    expect(p.analyzers.get('pinned')).toMatchObject({ threadCount: 1, memoryBytes: 256_000_000 });
  });

  it('RECOUNT_STATE, RECOUNT_SPILL and RECOUNT_KEEP_VERSIONS', () => {
    const p = build({
      RECOUNT_STATE: 'sqlite:/var/lib/recount/state.db',
      RECOUNT_SPILL: '/scratch/spill',
      RECOUNT_KEEP_VERSIONS: '10',
    });
    expect(p.stateUrl).toBe('sqlite:/var/lib/recount/state.db');
    expect(p.spillDir).toBe('/scratch/spill');
    expect(p.analyzers.get('plain')!.versionsToKeep).toBe(10);
    expect(p.analyzers.get('pinned')!.versionsToKeep).toBe(7);
  });

  it('an empty variable is ignored, and no variable leaves the config as written', () => {
    const p = build({ RECOUNT_OUTPUT: '', RECOUNT_THREADS: '' });
    expect(p.outputRoot).toBe('/proj/data/out');
    expect(p.config.defaults.threads).toBe(2);
  });

  it('does not modify the config object it was given', () => {
    const raw = config();
    applyEnvOverrides(raw, { RECOUNT_THREADS: '8', RECOUNT_OUTPUT: '/x' });
    expect(raw.defaults.threads).toBe(2);
    expect(raw.output).toBe('data/out');
  });

  it.each(['abc', '0', '-1', '1.5', '2x'])('RECOUNT_THREADS=%s is CONFIG_INVALID (exit 2) naming the variable', (v) => {
    const e = envError({ RECOUNT_THREADS: v });
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.exitCode).toBe(2);
    expect(e.subject).toBe('RECOUNT_THREADS');
    expect(e.message).toContain(`RECOUNT_THREADS=${v}`);
    expect(e.hint).toContain('RECOUNT_THREADS');
  });

  it('a number out of the schema range names the variable, not recount.config.ts', () => {
    const e = envError({ RECOUNT_THREADS: '300' });
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.subject).toBe('RECOUNT_THREADS');
    expect(e.message).toContain('RECOUNT_THREADS=300');
    expect(e.message).toContain('256');
    expect(e.hint).toContain('defaults.threads of recount.config.ts');
  });

  it('RECOUNT_KEEP_VERSIONS=none names the variable', () => {
    expect(envError({ RECOUNT_KEEP_VERSIONS: 'none' }).subject).toBe('RECOUNT_KEEP_VERSIONS');
  });

  it('RECOUNT_MEMORY=lots names the variable, not the analyzers that inherit it', () => {
    const e = envError({ RECOUNT_MEMORY: 'lots' });
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.message).toContain('RECOUNT_MEMORY');
    expect(e.message).not.toContain('analyzers/plain.ts');
    expect(e.hint).toContain('512MB');
  });

  it('overridingVariable maps a config field back to the variable that set it', () => {
    expect(overridingVariable('defaults.threads', { RECOUNT_THREADS: '3' })).toBe('RECOUNT_THREADS');
    expect(overridingVariable('defaults.threads', {})).toBeUndefined();
    expect(overridingVariable('output', { RECOUNT_OUTPUT: '' })).toBeUndefined();
  });
});
