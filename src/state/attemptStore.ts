import type { Kysely } from 'kysely';
import type { CheckResult } from '../checks/check.ts';
import { finishedAttemptColumns, startedAttemptRow } from './attemptRows.ts';
import { insertCheckResults, listCheckResults } from './checkResultStore.ts';
import { beginLoad } from './loadStore.ts';
import { ensurePartitionRow, readPartition } from './partitionStore.ts';
import type { AttemptOutcome, NewAttempt } from './store.ts';
import { now } from './timestamp.ts';
import type { AttemptRow, AttemptStatus, CheckResultRow, StateSchema } from './types.ts';

/** Which attempts to list (all of them, newest first, by default). */
export interface AttemptFilter {
  analyzer?: string;
  partitionId?: string;
  status?: AttemptStatus;
  limit?: number;
}

/** Runs and their attempts: recorded when an attempt starts and when it ends, with its check results. */
export class AttemptStore {
  constructor(private readonly db: Kysely<StateSchema>) {}

  /** Record a new run and its first attempt; returns the partition's seq the attempt is based on. */
  async begin(a: NewAttempt): Promise<{ baseSeq: number }> {
    return this.db.transaction().execute(async (trx) => {
      await ensurePartitionRow(trx, a.analyzer, a.partitionId);
      const p = await readPartition(trx, a.analyzer, a.partitionId);
      const baseSeq = Number(p!.seq);
      await trx
        .insertInto('runs')
        .values({
          run_id: a.runId,
          analyzer: a.analyzer,
          partition_id: a.partitionId,
          trigger: a.trigger,
          status: 'running',
          created_at: now(),
          finished_at: null,
        })
        .onConflict((oc) => oc.column('run_id').doNothing())
        .execute();
      await trx.insertInto('attempts').values(startedAttemptRow(a, baseSeq)).execute();
      return { baseSeq };
    });
  }

  /** Record how an attempt ended, its run's status, its checks and the load it owes, in one transaction. */
  async finish(attemptId: string, o: AttemptOutcome): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const row = await trx
        .updateTable('attempts')
        .set(finishedAttemptColumns(o))
        .where('attempt_id', '=', attemptId)
        .returning(['run_id', 'analyzer', 'partition_id'])
        .executeTakeFirst();
      if (row) {
        await trx
          .updateTable('runs')
          .set({ status: o.status, finished_at: now() })
          .where('run_id', '=', row.run_id)
          .execute();
      }
      if (o.checks?.length) await insertCheckResults(trx, attemptId, o.checks);
      if (row && o.owedLoad && o.versionSeq !== undefined) {
        const load = { analyzer: row.analyzer, partitionId: row.partition_id, versionSeq: o.versionSeq };
        await beginLoad(trx, { ...load, table: o.owedLoad.table });
      }
    });
  }

  async recordChecks(attemptId: string, results: readonly CheckResult[]): Promise<void> {
    await insertCheckResults(this.db, attemptId, results);
  }

  async get(attemptId: string): Promise<AttemptRow | undefined> {
    return this.db.selectFrom('attempts').selectAll().where('attempt_id', '=', attemptId).executeTakeFirst();
  }

  async list(f: AttemptFilter): Promise<AttemptRow[]> {
    let q = this.db.selectFrom('attempts').selectAll();
    if (f.analyzer) q = q.where('analyzer', '=', f.analyzer);
    if (f.partitionId) q = q.where('partition_id', '=', f.partitionId);
    if (f.status) q = q.where('status', '=', f.status);
    return q
      .orderBy('started_at', 'desc')
      .limit(f.limit ?? 1000)
      .execute();
  }

  async checkResults(attemptId: string): Promise<CheckResultRow[]> {
    return listCheckResults(this.db, attemptId);
  }
}
