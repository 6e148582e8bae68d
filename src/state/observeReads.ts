import { sql, type Kysely } from 'kysely';
import type { AttemptStatus, StateSchema } from './types.ts';

/** The latest attempt of a partition, as the partition grid needs it. */
export interface LatestAttempt {
  readonly partitionId: string;
  readonly attemptId: string;
  readonly status: AttemptStatus;
  readonly startedAt: string;
  readonly finishedAt: string | null;
  readonly errorCode: string | null;
}

/** One warehouse load as the dashboard shows it (the loads table may not exist in older stores). */
export interface LoadSummary {
  readonly versionSeq: number;
  readonly table: string;
  readonly status: string;
  readonly rows: number | null;
  readonly tries: number;
  readonly errorCode: string | null;
  readonly errorMessage: string | null;
  readonly requestedAt: string;
  readonly finishedAt: string | null;
}

/** Load records per analyzer and status, for metrics. */
export interface LoadCount {
  readonly analyzer: string;
  readonly status: string;
  readonly n: number;
  readonly tries: number;
  /** Pending loads whose last try failed (being retried). */
  readonly retrying: number;
}

/**
 * Aggregate reads behind metrics and the dashboard: whole-analyzer summaries in one query each, so a
 * year of hourly partitions stays one round trip.
 */
export class ObserveReads {
  constructor(private readonly db: Kysely<StateSchema>) {}

  /** The latest attempt of every partition of an analyzer. */
  async latestAttempts(analyzer: string): Promise<Map<string, LatestAttempt>> {
    const rows = await this.db
      .selectFrom('attempts')
      .select(['partition_id', 'attempt_id', 'status', 'started_at', 'finished_at', 'error_code'])
      .where('analyzer', '=', analyzer)
      .orderBy('started_at')
      .execute();
    const out = new Map<string, LatestAttempt>();
    for (const r of rows)
      out.set(r.partition_id, {
        partitionId: r.partition_id,
        attemptId: r.attempt_id,
        status: r.status,
        startedAt: r.started_at,
        finishedAt: r.finished_at,
        errorCode: r.error_code,
      });
    return out;
  }

  /** Queued and running queue items per analyzer. */
  async queueCounts(): Promise<{ analyzer: string; state: string; n: number }[]> {
    const rows = await this.db
      .selectFrom('run_queue')
      .select(['analyzer', 'state', (eb) => eb.fn.countAll<number>().as('n')])
      .where('state', 'in', ['queued', 'running'])
      .groupBy(['analyzer', 'state'])
      .execute();
    return rows.map((r) => ({ analyzer: r.analyzer, state: r.state, n: Number(r.n) }));
  }

  /** Partitions of an analyzer with a queued or running item, and which. */
  async activeQueue(analyzer: string): Promise<Map<string, 'queued' | 'running'>> {
    const rows = await this.db
      .selectFrom('run_queue')
      .select(['partition_id', 'state'])
      .where('analyzer', '=', analyzer)
      .where('state', 'in', ['queued', 'running'])
      .execute();
    return new Map(rows.map((r) => [r.partition_id, r.state as 'queued' | 'running']));
  }

  /** Warehouse loads of a partition, newest version first; undefined when the store has no loads table. */
  async loadsOf(analyzer: string, partitionId: string): Promise<LoadSummary[] | undefined> {
    try {
      const r = await sql<
        Record<string, unknown>
      >`SELECT * FROM loads WHERE analyzer = ${analyzer} AND partition_id = ${partitionId} ORDER BY version_seq DESC`.execute(
        this.db,
      );
      return r.rows.map((x) => ({
        versionSeq: Number(x.version_seq),
        table: String(x.table_name),
        status: String(x.status),
        rows: x.rows == null ? null : Number(x.rows),
        tries: Number(x.tries ?? 0),
        errorCode: (x.error_code as string | null) ?? null,
        errorMessage: (x.error_message as string | null) ?? null,
        requestedAt: String(x.requested_at ?? ''),
        finishedAt: (x.finished_at as string | null) ?? null,
      }));
    } catch {
      return undefined;
    }
  }

  /** Load records per analyzer and status; empty when the store has no loads table. */
  async loadCounts(): Promise<LoadCount[]> {
    try {
      const r = await sql<{ analyzer: string; status: string; n: number; tries: number; retrying: number }>`
        SELECT analyzer, status, count(*) AS n, sum(tries) AS tries,
               sum(CASE WHEN status = 'pending' AND error_code IS NOT NULL THEN 1 ELSE 0 END) AS retrying
        FROM loads GROUP BY analyzer, status`.execute(this.db);
      return r.rows.map((x) => ({
        analyzer: x.analyzer,
        status: x.status,
        n: Number(x.n),
        tries: Number(x.tries ?? 0),
        retrying: Number(x.retrying ?? 0),
      }));
    } catch {
      return [];
    }
  }

  /** Failed loads (need a fix before they can succeed), for load alerts; empty without a loads table. */
  async failedLoads(): Promise<
    {
      analyzer: string;
      partitionId: string;
      versionSeq: number;
      errorCode: string | null;
      errorMessage: string | null;
    }[]
  > {
    try {
      const r = await sql<
        Record<string, unknown>
      >`SELECT analyzer, partition_id, version_seq, error_code, error_message FROM loads WHERE status = 'failed'`.execute(
        this.db,
      );
      return r.rows.map((x) => ({
        analyzer: String(x.analyzer),
        partitionId: String(x.partition_id),
        versionSeq: Number(x.version_seq),
        errorCode: (x.error_code as string | null) ?? null,
        errorMessage: (x.error_message as string | null) ?? null,
      }));
    } catch {
      return [];
    }
  }

  /** Fill an attempt's peak RSS when its worker died before recording it (the daemon measured it). */
  async fillPeakRss(attemptId: string, peakRssBytes: number): Promise<void> {
    await this.db
      .updateTable('attempts')
      .set({ peak_rss_bytes: peakRssBytes })
      .where('attempt_id', '=', attemptId)
      .where('peak_rss_bytes', 'is', null)
      .execute();
  }
}
