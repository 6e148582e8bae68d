import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { duck, tempDir } from '../helpers/project.ts';
import { generateEvents } from '../../src/gen/events.ts';
import { lit } from '../../src/engine/sql.ts';
import type { RecountError } from '../../src/errors.ts';

const root = tempDir('recount-gen-');
afterAll(() => rmSync(root, { recursive: true, force: true }));
const file = (out: string, hour: string) => join(root, out, `dt=2023-10-12/hour=${hour}`, 'part-00000.parquet');
const glob = (out: string) => lit(join(root, out, '*/*/*.parquet'));

describe('gen events', () => {
  beforeAll(async () => {
    await generateEvents({
      out: join(root, 'a'),
      start: '2023-10-12T00',
      hours: 2,
      rowsPerHour: 20_000,
      seed: 1,
      ads: 100,
    });
    await generateEvents({
      out: join(root, 'b'),
      start: '2023-10-12T00',
      hours: 2,
      rowsPerHour: 20_000,
      seed: 1,
      ads: 100,
      threads: 1,
    });
    await generateEvents({
      out: join(root, 'c'),
      start: '2023-10-12T00',
      hours: 2,
      rowsPerHour: 20_000,
      seed: 2,
      ads: 100,
    });
    await generateEvents({
      out: join(root, 'skew'),
      start: '2023-10-12T00',
      hours: 1,
      rowsPerHour: 20_000,
      seed: 1,
      ads: 100,
      skew: true,
    });
  });

  it('writes Hive partitions with _SUCCESS last, as a real writer would', () => {
    for (const h of ['00', '01']) {
      expect(existsSync(file('a', h))).toBe(true);
      expect(existsSync(join(root, 'a', `dt=2023-10-12/hour=${h}`, '_SUCCESS'))).toBe(true);
    }
    expect(existsSync(join(root, 'a', '.gen-spill'))).toBe(false);
  });

  it('the same seed gives byte-identical files, whatever the thread count', () => {
    for (const h of ['00', '01']) expect(readFileSync(file('b', h)).equals(readFileSync(file('a', h)))).toBe(true);
  });

  it('another seed gives other events', () => {
    expect(readFileSync(file('c', '00')).equals(readFileSync(file('a', '00')))).toBe(false);
  });

  it('has the documented columns and types', async () => {
    const cols = await duck<{ column_name: string; column_type: string }>(
      `DESCRIBE SELECT * FROM read_parquet(${lit(file('a', '00'))}, hive_partitioning = false)`,
    );
    expect(cols.map((c) => `${c.column_name} ${c.column_type}`)).toEqual([
      'event_id BIGINT',
      'ts TIMESTAMP',
      'event_type VARCHAR',
      'ad_id INTEGER',
      'campaign_id INTEGER',
      'user_id BIGINT',
      'user_segment VARCHAR',
      'country VARCHAR',
      'device VARCHAR',
      'bid_price DOUBLE',
    ]);
  });

  it('values stay in their domains: unique ids, ts inside its hour, ads 1..N, bids 0.05..5', async () => {
    const [s] = await duck<Record<string, string | number>>(`SELECT count(*) AS n, count(DISTINCT event_id) AS ids,
        count(*) FILTER (WHERE date_trunc('hour', ts) <> make_timestamp(2023, 10, 12, CAST(regexp_extract(filename, 'hour=(\\d+)', 1) AS INTEGER), 0, 0)) AS wrong_hour,
        min(ad_id) AS min_ad, max(ad_id) AS max_ad, min(bid_price) AS min_bid, max(bid_price) AS max_bid,
        count(DISTINCT event_type) AS types, count(DISTINCT user_segment) AS segs, count(DISTINCT country) AS countries, count(DISTINCT device) AS devices
      FROM read_parquet(${glob('a')}, filename = true)`);
    expect(Number(s!.n)).toBe(40_000);
    expect(Number(s!.ids)).toBe(40_000);
    expect(Number(s!.wrong_hour)).toBe(0);
    expect([s!.min_ad, s!.max_ad]).toEqual([1, 100]);
    expect(Number(s!.min_bid)).toBeGreaterThanOrEqual(0.05);
    expect(Number(s!.max_bid)).toBeLessThanOrEqual(5.0);
    expect([Number(s!.types), Number(s!.segs), Number(s!.countries), Number(s!.devices)]).toEqual([3, 20, 10, 4]);
  });

  it('about 85% impressions, 12% clicks, 3% conversions', async () => {
    const rows = await duck<{ event_type: string; share: number }>(
      `SELECT event_type, count(*) / sum(count(*)) OVER () AS share FROM read_parquet(${glob('a')}) GROUP BY ALL`,
    );
    const share = Object.fromEntries(rows.map((r) => [r.event_type, Number(r.share)]));
    expect(share.impression).toBeCloseTo(0.85, 1);
    expect(share.click).toBeCloseTo(0.12, 1);
    expect(share.conversion).toBeCloseTo(0.03, 1);
  });

  it('columns are independent: every (ad, segment) and (country, device) pair occurs', async () => {
    // With correlated random streams, ad_id mod 4 fixed user_segment mod 4 and only a quarter of the pairs existed.
    const [s] = await duck<{ ad_seg: string; country_device: string; seg_device: string }>(
      `SELECT count(DISTINCT (ad_id, user_segment)) AS ad_seg, count(DISTINCT (country, device)) AS country_device, count(DISTINCT (user_segment, device)) AS seg_device FROM read_parquet(${glob('a')})`,
    );
    // 40,000 events over 2,000 (ad, segment) pairs: each pair is missing with probability e^-20.
    expect(Number(s!.ad_seg)).toBe(2000);
    expect(Number(s!.country_device)).toBe(40);
    expect(Number(s!.seg_device)).toBe(80);
  });

  it('skew gives a few ads most events, uniform spreads them', async () => {
    const top = async (out: string) => {
      const [r] = await duck<{ share: number }>(
        `SELECT max(c) / sum(c) AS share FROM (SELECT count(*) AS c FROM read_parquet(${glob(out)}) GROUP BY ad_id)`,
      );
      return Number(r!.share);
    };
    expect(await top('a')).toBeLessThan(0.03);
    expect(await top('skew')).toBeGreaterThan(0.1);
  });

  it('rejects bad options with a USAGE error naming the option', async () => {
    for (const [opts, subject] of [
      [{ hours: 0 }, '--hours'],
      [{ rowsPerHour: -1 }, '--rows-per-hour'],
      [{ seed: 1.5 }, '--seed'],
    ] as const) {
      const e = await generateEvents({
        out: join(root, 'bad'),
        start: '2023-10-12T00',
        hours: 1,
        rowsPerHour: 1,
        seed: 1,
        ...opts,
      }).then(
        () => undefined,
        (x: unknown) => x as RecountError,
      );
      expect(e?.code).toBe('USAGE');
      expect(e?.subject).toBe(subject);
    }
    const bad = await generateEvents({
      out: join(root, 'bad'),
      start: 'tomorrow',
      hours: 1,
      rowsPerHour: 1,
      seed: 1,
    }).then(
      () => undefined,
      (x: unknown) => x as RecountError,
    );
    expect(bad?.code).toBe('PARTITION_INVALID');
  });
});
