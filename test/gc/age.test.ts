import { describe, expect, it } from 'vitest';
import { buildProject } from '../../src/config/project.ts';
import { RecountError } from '../../src/errors.ts';
import { formatAge, parseAge } from '../../src/gc/age.ts';

// Retention ages are written as '7d', '12h', '30m', '90s' (or milliseconds) in the config's gc section.

describe('gc ages', () => {
  it('parses the units and plain milliseconds', () => {
    expect([
      parseAge('7d', 'x'),
      parseAge('12h', 'x'),
      parseAge('30m', 'x'),
      parseAge('90s', 'x'),
      parseAge('1w', 'x'),
      parseAge(500, 'x'),
    ]).toEqual([604_800_000, 43_200_000, 1_800_000, 90_000, 604_800_000, 500]);
    expect(formatAge(36 * 3_600_000)).toBe('1.5 d');
  });

  it('the config defaults them and names a bad one by its field', () => {
    const ok = buildProject('/p', 'recount.config.ts', { datasets: {} }, [], {});
    expect(ok.config.gc).toEqual({ shadowMaxAge: '7d', auditMaxAge: '1d', stagingMaxAge: '1d' });
    let err: unknown;
    try {
      buildProject('/p', 'recount.config.ts', { datasets: {}, gc: { shadowMaxAge: 'a week' } }, [], {});
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RecountError);
    expect((err as RecountError).message).toContain(
      "gc.shadowMaxAge: write an age such as '7d', '12h', '30m' or '90s'",
    );
  });
});
