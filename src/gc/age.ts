import { RecountError } from '../errors.ts';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Parse an age such as '7d', '12h', '30m', '90s' or a number of milliseconds. */
export function parseAge(value: string | number, where: string): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  const m = typeof value === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$/.exec(value) : null;
  if (!m) {
    throw new RecountError('CONFIG_INVALID', `${where}: '${value}' is not an age`, {
      subject: where,
      hint: "write an age such as '7d', '12h', '30m' or '90s'",
    });
  }
  return Number(m[1]) * UNIT_MS[m[2]!]!;
}

/** An age for people: `3.2 d`, `5 h`, `40 s`. */
export function formatAge(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['min', 60_000],
  ] as const) {
    if (ms >= size) return `${(ms / size).toFixed(ms >= 10 * size ? 0 : 1)} ${unit}`;
  }
  return `${Math.round(ms / 1000)} s`;
}
