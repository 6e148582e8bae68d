import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SparkConnectClient,
  commandPlan,
  createOrReplaceTempView,
  readParquet,
  repartitionByKeys,
  sortWithinPartitions,
  sql,
  tableRows,
  writeParquet,
  KEY_LAYOUT_CONF,
} from '../../../src/engine/spark/connect/index.ts';
import { RecountError } from '../../../src/errors.ts';
import { sparkRemote } from '../../spark/remote.ts';
import { tempDir } from '../../helpers/project.ts';
import { duckdbRows, writeParquetWithDuckDB } from './duckdbFiles.ts';

describe('Spark Connect: key-hashed Parquet output', () => {
  let client: SparkConnectClient;
  let input: string[];
  beforeAll(async () => {
    client = SparkConnectClient.connect(sparkRemote());
    const dir = tempDir('recount-spark-layout-in-');
    // Two input files of events: ad_id x segment keys, with a float measure that must never pick a file.
    input = await writeParquetWithDuckDB(dir, [
      [
        'part-0.parquet',
        "SELECT (range % 97)::INTEGER AS ad_id, ['a','b','c'][(range % 3) + 1] AS seg, range * 0.1 AS bid FROM range(0, 5000)",
      ],
      [
        'part-1.parquet',
        "SELECT (range % 89)::INTEGER AS ad_id, ['a','b','c'][(range % 3) + 1] AS seg, range * 0.1 AS bid FROM range(5000, 9000)",
      ],
    ]);
    await client.execute(commandPlan(createOrReplaceTempView(readParquet(input), 'events')));
  });
  afterAll(async () => {
    await client.close();
  });

  /** Writes the hourly-style aggregate bucketed by keys into a new folder; returns the folder. */
  async function writeBucketed(n: number, keys: string[]): Promise<string> {
    const out = join(tempDir('recount-spark-layout-out-'), 'staging');
    const query = sql(
      'SELECT ad_id, seg, count(*) AS impressions, sum(bid) AS total_bid FROM events GROUP BY ad_id, seg',
    );
    await client.execute(commandPlan(writeParquet(sortWithinPartitions(repartitionByKeys(query, n, keys), keys), out)));
    return out;
  }

  for (const shufflePartitions of ['4', '7']) {
    it(`writes one file per bucket pmod(hash(keys), n), rows sorted by key, as DuckDB reads them back (shuffle partitions ${shufflePartitions})`, async () => {
      const n = 4;
      const keys = ['ad_id', 'seg'];
      await client.setConf({ ...KEY_LAYOUT_CONF, 'spark.sql.shuffle.partitions': shufflePartitions });
      const out = await writeBucketed(n, keys);

      const files = readdirSync(out)
        .filter((f) => f.endsWith('.parquet'))
        .sort();
      expect(files.length).toBe(n);
      // Spark's own hash says which bucket each key belongs in.
      const expected = new Map(
        tableRows<{ ad_id: number; seg: string; bucket: number }>(
          await client.collect(
            sql(`SELECT ad_id, seg, pmod(hash(ad_id, seg), ${n}) AS bucket FROM events GROUP BY ad_id, seg`),
          ),
        ).map((r) => [`${r.ad_id}|${r.seg}`, r.bucket]),
      );
      expect(expected.size).toBe(97 * 3);

      let total = 0;
      for (const f of files) {
        const bucket = Number(/^part-(\d{5})-/.exec(f)?.[1]);
        // One file read alone keeps its row order in DuckDB.
        const rows = await duckdbRows<{ ad_id: number; seg: string; impressions: string }>(
          `SELECT * FROM read_parquet('${join(out, f)}')`,
        );
        total += rows.length;
        for (const r of rows) expect(expected.get(`${r.ad_id}|${r.seg}`), `${r.ad_id}|${r.seg} in ${f}`).toBe(bucket);
        const sorted = [...rows].sort((a, b) => a.ad_id - b.ad_id || (a.seg < b.seg ? -1 : a.seg > b.seg ? 1 : 0));
        expect(rows, `${f} is sorted by key`).toEqual(sorted);
      }
      expect(total).toBe(expected.size);
      const [sums] = await duckdbRows<{ n: string }>(
        `SELECT sum(impressions)::BIGINT AS n FROM read_parquet('${out}/*.parquet')`,
      );
      expect(sums!.n).toBe('9000');
    });
  }

  it('needs KEY_LAYOUT_CONF: without it Spark drops repartition(n, keys) after a GROUP BY on the keys into n partitions and coalesces', async () => {
    // Why KEY_LAYOUT_CONF exists. Should a Spark version stop doing this, this test says so.
    await client.setConf({
      'spark.sql.adaptive.coalescePartitions.enabled': 'true',
      'spark.sql.shuffle.partitions': '4',
    });
    const out = await writeBucketed(4, ['ad_id', 'seg']);
    expect(readdirSync(out).filter((f) => f.endsWith('.parquet')).length).toBeLessThan(4);
  });

  it('refuses to write into a folder that exists (errorIfExists), so an attempt never writes over another', async () => {
    const out = tempDir('recount-spark-layout-exists-');
    try {
      await client.execute(commandPlan(writeParquet(sql('SELECT 1 AS a'), out)));
      throw new Error('expected a rejection');
    } catch (err) {
      expect(err).toBeInstanceOf(RecountError);
      expect((err as RecountError).details?.errorClass).toBe('PATH_ALREADY_EXISTS');
    }
  });
});
