import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  copyFileSync,
  existsSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { duck, makeProject, readPublished, type CliResult, type TestProject } from '../helpers/project.ts';
import { runPartition } from '../../src/run/runPartition.ts';
import { getAnalyzer } from '../../src/config/project.ts';
import { openStateStore } from '../../src/state/open.ts';
import { lit } from '../../src/engine/sql.ts';

// Bad input of every kind, through the real CLI: the exit code, the error code, a message naming the thing at
// fault with a hint, and the previously published version untouched (same link, manifest, rows and state).

const analyzer = (name: string, body: string) => `import { defineAnalyzer } from 'recount';
export default defineAnalyzer({ name: '${name}', inputs: ['events'], grain: 'hour', ${body} });`;
const COUNTS_SQL = 'SELECT ad_id, count(*)::BIGINT AS n FROM events GROUP BY ad_id';
const ANALYZERS = {
  counts: analyzer('counts', `files: 2, sql: ${JSON.stringify(COUNTS_SQL)}`),
  bids: analyzer(
    'bids',
    `keys: ['ad_id'], sql: "SELECT ad_id, sum(bid_price) AS total_bid FROM events GROUP BY ad_id"`,
  ),
  by_price: analyzer('by_price', `sql: "SELECT bid_price, count(*) AS n FROM events GROUP BY bid_price"`),
  checked: analyzer(
    'checked',
    `sql: ${JSON.stringify(COUNTS_SQL)}, checks: [{ name: 'no_negative', sql: 'SELECT * FROM output WHERE n < 0' }]`,
  ),
};
const H = 'ad_impressions_hourly';
const HOURLY_FILE = 'analyzers/ad_impressions_hourly.ts';
const P = '2023-10-12T01';

interface Snapshot {
  readonly link: string;
  readonly manifest: string;
  readonly rows: string;
  readonly publishedSeq: number | null;
}

describe('bad input through the CLI', () => {
  let tp: TestProject;
  const input = () => join(tp.dir, 'data/events/dt=2023-10-12/hour=01/part-00000.parquet');
  const backup = () => join(tp.dir, 'hour01.parquet.bak');
  const published = (a: string, p = P) => join(tp.dir, `data/out/${a}/dt=2023-10-12/hour=${p.slice(11)}`);

  async function snapshot(a: string, keys: string[], p = P): Promise<Snapshot> {
    const store = await openStateStore('sqlite:.recount/state.db', tp.dir);
    try {
      return {
        link: readlinkSync(published(a, p)),
        manifest: readFileSync(join(published(a, p), '_manifest.json'), 'utf8'),
        rows: JSON.stringify(await readPublished(published(a, p), keys)),
        publishedSeq: (await store.getPartition(a, p))?.published_seq ?? null,
      };
    } finally {
      await store.close();
    }
  }

  /** Run `fn` and assert the published version of (analyzer, partition) is exactly as before. */
  async function keepsPublished(a: string, keys: string[], fn: () => Promise<void> | void): Promise<void> {
    const before = await snapshot(a, keys);
    expect(before.publishedSeq).not.toBeNull();
    await fn();
    expect(await snapshot(a, keys)).toEqual(before);
    expect(existsSync(join(published(a), '_SUCCESS'))).toBe(true);
  }

  /** The error of a failed command: its exit code and a hint, with --json on stdout. */
  function failure(r: CliResult, exit: number, code: string): { message: string; subject: string; hint: string } {
    expect(r.code, r.stdout + r.stderr).toBe(exit);
    expect(r.json?.ok).toBe(false);
    const e = r.json.error;
    expect(e.code).toBe(code);
    expect(e.hint, 'every error says what to do').toBeTruthy();
    return e;
  }

  async function rewriteInput(select: string): Promise<void> {
    await duck(`COPY (${select}) TO ${lit(input())} (FORMAT parquet)`);
  }

  function editFile(rel: string, text: string): () => void {
    const path = join(tp.dir, rel);
    const old = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
    writeFileSync(path, text);
    return () => (old === undefined ? rmSync(path) : writeFileSync(path, old));
  }

  beforeAll(async () => {
    tp = await makeProject({ hours: 3, rowsPerHour: 3000, analyzers: ANALYZERS });
    copyFileSync(input(), backup());
    const ctx = await tp.open();
    try {
      for (const name of [H, 'counts', 'bids', 'checked']) {
        const r = await runPartition(ctx, getAnalyzer(ctx.project, name), P);
        expect(r.error).toBeUndefined();
      }
    } finally {
      await ctx.close();
    }
  });
  afterAll(() => tp?.cleanup());

  describe('input files', () => {
    const restore = () => copyFileSync(backup(), input());

    it('corrupt Parquet (garbage bytes): exit 1, INPUT_CORRUPT naming the file, in the human form too', async () => {
      await keepsPublished(H, ['ad_id', 'user_segment'], () => {
        writeFileSync(input(), 'this is not a parquet file at all, just garbage bytes\n'.repeat(50));
        try {
          const r = tp.cli(['run', H, '--partition', P]);
          expect(r.code).toBe(1);
          expect(r.stderr).toContain('error [INPUT_CORRUPT]');
          expect(r.stderr).toContain(`input 'events': ${input()} is not a readable Parquet file`);
          expect(r.stderr).toMatch(new RegExp(`\\n  at: +${input().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n`));
          expect(r.stderr).toMatch(/\n {2}hint: .*corrupt or truncated.*rerun/);
        } finally {
          restore();
        }
      });
    });

    it('truncated Parquet (a real file cut in half): INPUT_CORRUPT naming the file', async () => {
      await keepsPublished(H, ['ad_id', 'user_segment'], () => {
        truncateSync(input(), Math.floor(statSync(backup()).size / 2));
        try {
          const e = failure(tp.cli(['--json', 'run', H, '--partition', P]), 1, 'INPUT_CORRUPT');
          expect(e.subject).toBe(input());
          expect(e.message).toContain(input());
          expect(e.hint).toMatch(/rewrite that partition upstream/);
        } finally {
          restore();
        }
      });
    });

    it('damaged data pages behind an intact footer: INPUT_CORRUPT naming the file, not blaming the SQL', async () => {
      await keepsPublished(H, ['ad_id', 'user_segment'], () => {
        const bytes = readFileSync(backup());
        for (let i = Math.floor(bytes.length / 4); i < bytes.length / 2; i++) bytes[i] = (bytes[i]! * 7 + 13) % 256;
        writeFileSync(input(), bytes);
        try {
          const e = failure(tp.cli(['--json', 'run', H, '--partition', P]), 1, 'INPUT_CORRUPT');
          expect(e.subject).toBe(input());
          expect(e.message).toContain(`${input()} cannot be read`);
        } finally {
          restore();
        }
      });
    });

    it('a missing input column: INPUT_MISSING_COLUMN naming the column and the analyzer file', async () => {
      await keepsPublished(H, ['ad_id', 'user_segment'], async () => {
        await rewriteInput(`SELECT * EXCLUDE (bid_price) FROM read_parquet(${lit(backup())})`);
        try {
          const e = failure(tp.cli(['--json', 'run', H, '--partition', P]), 1, 'INPUT_MISSING_COLUMN');
          expect(e.message).toContain("column 'bid_price'");
          expect(e.message).toContain(HOURLY_FILE);
          expect(e.subject).toBe(`${HOURLY_FILE}: bid_price`);
          expect(e.hint).toContain('events(event_id, ts, event_type');
        } finally {
          restore();
        }
      });
    });

    it('a column whose type changed (bid_price DOUBLE -> VARCHAR): INPUT_SCHEMA_CHANGED naming the column and both types', async () => {
      await keepsPublished(H, ['ad_id', 'user_segment'], async () => {
        await rewriteInput(`SELECT * REPLACE (bid_price::VARCHAR AS bid_price) FROM read_parquet(${lit(backup())})`);
        try {
          const e = failure(tp.cli(['--json', 'run', H, '--partition', P]), 1, 'INPUT_SCHEMA_CHANGED');
          expect(e.message).toContain("column 'bid_price' changed type from DOUBLE");
          expect(e.message).toContain('to VARCHAR');
          expect(e.subject).toBe(`${input()}: bid_price`);
          expect(e.hint).toContain('--accept-schema-change');
          // Accepting the change runs the SQL, which cannot sum a VARCHAR: DuckDB's error, with the column named.
          const accepted = failure(
            tp.cli(['--json', 'run', H, '--partition', P, '--accept-schema-change']),
            1,
            'SQL_INVALID',
          );
          expect(accepted.message).toContain('sum(VARCHAR)');
          expect(accepted.message).toContain("'bid_price' (VARCHAR in input events)");
          expect(accepted.subject).toBe(`${HOURLY_FILE}: bid_price`);
        } finally {
          restore();
        }
      });
    });

    it('a type change in a partition with no earlier version still names the column', async () => {
      const hour02 = join(tp.dir, 'data/events/dt=2023-10-12/hour=02/part-00000.parquet');
      const original = readFileSync(hour02);
      await duck(
        `COPY (SELECT * REPLACE (bid_price::VARCHAR AS bid_price) FROM read_parquet(${lit(backup())})) TO ${lit(hour02)} (FORMAT parquet)`,
      );
      try {
        const e = failure(tp.cli(['--json', 'run', H, '--partition', '2023-10-12T02']), 1, 'SQL_INVALID');
        expect(e.subject).toBe(`${HOURLY_FILE}: bid_price`);
        expect(e.hint).toMatch(/type changed upstream/);
        expect(existsSync(published(H, '2023-10-12T02'))).toBe(false);
      } finally {
        writeFileSync(hour02, original);
      }
    });

    it('a partition that is not ready (no _SUCCESS): PARTITION_NOT_READY naming dataset and partition', async () => {
      const marker = join(tp.dir, 'data/events/dt=2023-10-12/hour=01/_SUCCESS');
      await keepsPublished(H, ['ad_id', 'user_segment'], () => {
        renameSync(marker, `${marker}.hold`);
        try {
          const e = failure(tp.cli(['--json', 'run', H, '--partition', P]), 1, 'PARTITION_NOT_READY');
          expect(e.subject).toBe('events/dt=2023-10-12/hour=01');
          expect(e.message).toContain(P);
          expect(e.hint).toContain('_SUCCESS');
        } finally {
          renameSync(`${marker}.hold`, marker);
        }
      });
    });
  });

  describe('analyzer SQL, keys and checks', () => {
    it('invalid SQL: SQL_INVALID with DuckDB’s error and the analyzer file', async () => {
      await keepsPublished('counts', ['ad_id'], () => {
        const undo = editFile(
          'analyzers/counts.ts',
          analyzer('counts', `files: 2, sql: "SELECT ad_id, count(* AS n FROM events GROUP BY ad_id"`),
        );
        try {
          const e = failure(tp.cli(['--json', 'run', 'counts', '--partition', P]), 1, 'SQL_INVALID');
          expect(e.message).toContain('analyzers/counts.ts');
          expect(e.message).toMatch(/Parser Error: syntax error at or near "AS"/);
          expect(e.subject).toBe('analyzers/counts.ts');
        } finally {
          undo();
        }
      });
    });

    it('a declared FLOAT key (keys including total_bid): KEY_FLOAT naming the column and the file', async () => {
      await keepsPublished('bids', ['ad_id'], () => {
        const undo = editFile(
          'analyzers/bids.ts',
          analyzer(
            'bids',
            `keys: ['ad_id', 'total_bid'], sql: "SELECT ad_id, sum(bid_price) AS total_bid FROM events GROUP BY ad_id"`,
          ),
        );
        try {
          const e = failure(tp.cli(['--json', 'run', 'bids', '--partition', P]), 1, 'KEY_FLOAT');
          expect(e.message).toContain("'total_bid' is DOUBLE");
          expect(e.subject).toBe('analyzers/bids.ts: total_bid');
          expect(e.hint).toMatch(/DECIMAL or BIGINT/);
        } finally {
          undo();
        }
      });
    });

    it('an analyzer that GROUPs BY a DOUBLE: KEY_FLOAT, nothing published', () => {
      const e = failure(tp.cli(['--json', 'run', 'by_price', '--partition', P]), 1, 'KEY_FLOAT');
      expect(e.subject).toBe('analyzers/by_price.ts: bid_price');
      expect(existsSync(published('by_price'))).toBe(false);
    });

    it('a failing custom check: CHECK_FAILED, nothing published, up to 10 sample rows in status --json --partition', async () => {
      await keepsPublished('checked', ['ad_id'], () => {
        const undo = editFile(
          'analyzers/checked.ts',
          analyzer(
            'checked',
            `sql: ${JSON.stringify(COUNTS_SQL)}, checks: [{ name: 'no_negative', sql: 'SELECT * FROM output WHERE n >= 1 ORDER BY ad_id' }]`,
          ),
        );
        try {
          const e = failure(tp.cli(['--json', 'run', 'checked', '--partition', P]), 1, 'CHECK_FAILED');
          expect(e.message).toContain("check 'no_negative' failed");
          expect(e.subject).toBe('analyzers/checked.ts: checks.no_negative');
          expect(e.hint).toContain(`recount status checked --partition ${P} --json`);

          const s = tp.cli(['--json', 'status', 'checked', '--partition', P]);
          expect(s.code).toBe(0);
          expect(s.json.publishedVersion).toBe(1);
          expect(s.json.attempts[0].status).toBe('failed');
          expect(s.json.attempts[0].error.code).toBe('CHECK_FAILED');
          const check = s.json.lastChecks.find((c: { name: string }) => c.name === 'no_negative');
          expect(check.passed).toBe(false);
          expect(check.failing).toBe(200);
          expect(check.sample).toHaveLength(10);
          for (const row of check.sample) expect(Object.keys(row)).toEqual(['ad_id', 'n']);
          expect(
            s.json.lastChecks.filter((c: { passed: boolean }) => !c.passed).map((c: { name: string }) => c.name),
          ).toEqual(['no_negative']);
        } finally {
          undo();
        }
      });
    });
  });

  describe('configuration and usage (exit 2)', () => {
    it("an invalid config field (grain: 'hourly'): names recount.config.ts and the field", async () => {
      await keepsPublished(H, ['ad_id', 'user_segment'], () => {
        const config = readFileSync(join(tp.dir, 'recount.config.ts'), 'utf8');
        const undo = editFile('recount.config.ts', config.replace("grain: 'hour'", "grain: 'hourly'"));
        try {
          const e = failure(tp.cli(['--json', 'run', H, '--partition', P]), 2, 'CONFIG_INVALID');
          expect(e.message).toContain('recount.config.ts: datasets.events.grain');
          expect(e.subject).toBe('recount.config.ts: datasets.events.grain');
          expect(e.message).toMatch(/"hour"\|"day"/);
        } finally {
          undo();
        }
      });
    });

    it('an invalid analyzer field (files: 0): names the analyzer file and the field', () => {
      const undo = editFile('analyzers/zz_bad.ts', analyzer('zz_bad', `files: 0, sql: 'SELECT 1 AS a'`));
      try {
        const e = failure(tp.cli(['--json', 'status']), 2, 'CONFIG_INVALID');
        expect(e.message).toContain('analyzers/zz_bad.ts: files');
        expect(e.subject).toBe('analyzers/zz_bad.ts: files');
      } finally {
        undo();
      }
    });

    it('an unknown analyzer: ANALYZER_UNKNOWN listing the known ones', () => {
      const e = failure(tp.cli(['--json', 'run', 'ad_impressions_hourli', '--partition', P]), 2, 'ANALYZER_UNKNOWN');
      expect(e.message).toContain("'ad_impressions_hourli'");
      expect(e.hint).toContain('ad_impressions_hourly');
    });

    it.each([
      ['2023-13-45T99', /not a real hour/],
      ['yesterday', /malformed hour partition id/],
    ])('a malformed partition id (%s): PARTITION_INVALID naming it', (id, why) => {
      const e = failure(tp.cli(['--json', 'run', H, '--partition', id]), 2, 'PARTITION_INVALID');
      expect(e.subject).toBe(id);
      expect(e.message).toMatch(why);
      expect(e.hint).toContain('2023-10-12T09');
    });

    it('bad RECOUNT_THREADS: CONFIG_INVALID naming the variable', async () => {
      await keepsPublished(H, ['ad_id', 'user_segment'], () => {
        const e = failure(
          tp.cli(['--json', 'run', H, '--partition', P], { RECOUNT_THREADS: 'many' }),
          2,
          'CONFIG_INVALID',
        );
        expect(e.subject).toBe('RECOUNT_THREADS');
        expect(e.message).toContain('RECOUNT_THREADS=many');
      });
    });
  });

  describe('output', () => {
    it('an output root that is not writable (beneath a regular file): OUTPUT_NOT_WRITABLE naming it', async () => {
      await keepsPublished(H, ['ad_id', 'user_segment'], () => {
        const root = join(tp.dir, 'recount.config.ts', 'out');
        const e = failure(
          tp.cli(['--json', 'run', H, '--partition', P], { RECOUNT_OUTPUT: root }),
          1,
          'OUTPUT_NOT_WRITABLE',
        );
        expect(e.subject).toBe(root);
        expect(e.message).toContain(root);
        expect(e.hint).toContain('RECOUNT_OUTPUT');
      });
    });

    it('an output root a filesystem refuses to create (under /proc): OUTPUT_NOT_WRITABLE at once, not a hang', async () => {
      await keepsPublished(H, ['ad_id', 'user_segment'], () => {
        const root = '/proc/recount-test-out';
        const e = failure(
          tp.cli(['--json', 'run', H, '--partition', P], { RECOUNT_OUTPUT: root }),
          1,
          'OUTPUT_NOT_WRITABLE',
        );
        expect(e.subject).toBe(root);
      });
    });

    it('after all of it, a clean rerun publishes v2 with the same rows as v1', async () => {
      const before = await snapshot(H, ['ad_id', 'user_segment']);
      const r = tp.cli(['--json', 'run', H, '--partition', P]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.json.version).toBe(2);
      const after = await snapshot(H, ['ad_id', 'user_segment']);
      expect(after.publishedSeq).toBe(2);
      expect(
        JSON.parse(after.rows).map(({ _file, ...row }: Record<string, unknown>) => ({
          ...row,
          total_bid: Number(row.total_bid).toFixed(6),
        })),
      ).toEqual(
        JSON.parse(before.rows).map(({ _file, ...row }: Record<string, unknown>) => ({
          ...row,
          total_bid: Number(row.total_bid).toFixed(6),
        })),
      );
    });
  });
});
