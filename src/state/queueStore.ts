import type { ExpressionBuilder, Kysely } from 'kysely';
import { partitionKey } from './partitionKey.ts';
import { now } from './timestamp.ts';
import type { QueueRow, StateSchema } from './types.ts';

/** The queue item's tries less one (never below zero): a try that ended by no fault of the attempt is given back. */
function attemptGivenBack(eb: ExpressionBuilder<StateSchema, 'run_queue'>) {
  return eb
    .case()
    .when('attempts', '>', 0)
    .then(eb(eb.ref('attempts'), '-', 1))
    .else(0)
    .end();
}

/** A run to queue. */
export interface EnqueueRequest {
  readonly analyzer: string;
  readonly partitionId: string;
  readonly reason: string;
  readonly maxAttempts: number;
  /** What the run is made of (the analyzer's definitionHash; stored as sql_hash): a run failed for good is queued again when it changes. */
  readonly sqlHash: string;
  readonly inputFingerprint?: string;
}

/** Who holds a running item: a daemon process. */
export interface QueueOwner {
  readonly host: string;
  readonly token: string;
}

/** Limits the claim honours. */
export interface ClaimPolicy {
  readonly limit: number;
  /** Most running items per analyzer. */
  readonly concurrency: (analyzer: string) => number;
  /** Which partitions of an analyzer go first. */
  readonly order: (analyzer: string) => 'oldest' | 'newest';
}

/**
 * The daemon's run queue, kept in the state store so a restart loses nothing. At most one queued or
 * running item per (analyzer, partition); claims are compare-and-set, so two daemons never take the same item.
 */
export class QueueStore {
  constructor(
    private readonly db: Kysely<StateSchema>,
    /** Takes the claiming process's lease before its first claim names it as an owner. */
    private readonly holdLease: () => Promise<void> = async () => undefined,
  ) {}

  /**
   * Queue a run unless one is already queued or running for the partition, or a run for the same input
   * and SQL already failed for good (re-queued only when the input or SQL changes, or by `force`).
   */
  async enqueue(req: EnqueueRequest, opts: { force?: boolean } = {}): Promise<QueueRow | undefined> {
    return this.db.transaction().execute((trx) => enqueueIn(trx, req, opts));
  }

  /**
   * Queue runs as `enqueue` does each, in one transaction (one commit, not one per partition): a daemon's scan that
   * finds a backlog queues it in a few. Each result is the item queued, or undefined where `enqueue` gives none.
   */
  async enqueueMany(reqs: readonly EnqueueRequest[]): Promise<(QueueRow | undefined)[]> {
    if (reqs.length === 0) return [];
    return this.db.transaction().execute(async (trx) => {
      const out: (QueueRow | undefined)[] = [];
      for (const req of reqs) out.push(await enqueueIn(trx, req, {}));
      return out;
    });
  }

  /**
   * Take up to `limit` due items for this owner, honouring per-analyzer concurrency and order. Each analyzer's next
   * items come from the database in its order (oldest or newest partition first), as many as it may start now
   * and a few more for the compare-and-set to fall back on: a claim reads what it may take, not the whole backlog.
   */
  async claim(owner: QueueOwner, policy: ClaimPolicy): Promise<QueueRow[]> {
    if (policy.limit <= 0) return [];
    await this.holdLease();
    return this.db.transaction().execute(async (trx) => {
      const ts = now();
      const running = await trx.selectFrom('run_queue').select(['analyzer']).where('state', '=', 'running').execute();
      const runningBy = new Map<string, number>();
      for (const r of running) runningBy.set(r.analyzer, (runningBy.get(r.analyzer) ?? 0) + 1);
      const analyzers = await trx
        .selectFrom('run_queue')
        .select('analyzer')
        .distinct()
        .where('state', '=', 'queued')
        .where('not_before', '<=', ts)
        .orderBy('analyzer')
        .execute();
      const byAnalyzer = new Map<string, QueueRow[]>();
      for (const { analyzer: a } of analyzers) {
        const free = Math.min(policy.limit, policy.concurrency(a) - (runningBy.get(a) ?? 0));
        if (free <= 0) continue;
        const direction = policy.order(a) === 'newest' ? 'desc' : 'asc';
        const due = await trx
          .selectFrom('run_queue')
          .selectAll()
          .where('analyzer', '=', a)
          .where('state', '=', 'queued')
          .where('not_before', '<=', ts)
          .orderBy('partition_id', direction)
          .orderBy('id')
          .limit(free + CLAIM_SPARE)
          .execute();
        byAnalyzer.set(a, due);
      }
      return takeRoundRobin(trx, owner, ts, policy, byAnalyzer, runningBy);
    });
  }

  /** Record that an attempt of a running item started. */
  async startAttempt(id: number, attemptId: string): Promise<void> {
    const item = await this.get(id);
    await this.db
      .updateTable('run_queue')
      .set({ attempts: (item?.attempts ?? 0) + 1, last_attempt_id: attemptId, updated_at: now() })
      .where('id', '=', id)
      .execute();
  }

  /** The item is done: its attempt published (or another attempt already had). */
  async succeed(id: number): Promise<void> {
    await this.db
      .updateTable('run_queue')
      .set({ state: 'succeeded', owner_host: null, owner_token: null, updated_at: now() })
      .where('id', '=', id)
      .execute();
  }

  /** Put a running item back in the queue, due at `notBefore`, optionally with a smaller configuration. */
  async retryLater(
    id: number,
    r: {
      notBefore: Date;
      errorCode: string;
      error: string;
      threads?: number;
      memoryBytes?: number;
      refundAttempt?: boolean;
    },
  ): Promise<void> {
    await this.db
      .updateTable('run_queue')
      .set((eb) => ({
        // A try that ended by no fault of its own (the daemon stopped) does not count against max attempts.
        ...(r.refundAttempt
          ? {
              attempts: attemptGivenBack(eb),
            }
          : {}),
        state: 'queued',
        not_before: r.notBefore.toISOString(),
        last_error_code: r.errorCode,
        last_error: r.error,
        ...(r.threads !== undefined ? { threads: r.threads } : {}),
        ...(r.memoryBytes !== undefined ? { memory_bytes: r.memoryBytes } : {}),
        owner_host: null,
        owner_token: null,
        updated_at: now(),
      }))
      .where('id', '=', id)
      .execute();
  }

  /** The item failed for good (a permanent error, or out of attempts). */
  async fail(id: number, r: { errorCode: string; error: string }): Promise<void> {
    await this.db
      .updateTable('run_queue')
      .set({
        state: 'failed',
        last_error_code: r.errorCode,
        last_error: r.error,
        owner_host: null,
        owner_token: null,
        updated_at: now(),
      })
      .where('id', '=', id)
      .execute();
  }

  /** Items marked running by a daemon that is gone go back to the queue (after a daemon crash). */
  async requeueOrphans(isAlive: (host: string, token: string) => boolean | Promise<boolean>): Promise<number> {
    const running = await this.db.selectFrom('run_queue').selectAll().where('state', '=', 'running').execute();
    let n = 0;
    for (const r of running) {
      if (r.owner_host && r.owner_token && (await isAlive(r.owner_host, r.owner_token))) continue;
      // The try the dead daemon's attempt used is given back: the daemon died, not the attempt.
      await this.db
        .updateTable('run_queue')
        .set((eb) => ({
          state: 'queued',
          attempts: attemptGivenBack(eb),
          owner_host: null,
          owner_token: null,
          updated_at: now(),
        }))
        .where('id', '=', r.id)
        .where('state', '=', 'running')
        .execute();
      n++;
    }
    return n;
  }

  /** Give back items this owner holds (a drain that timed out): they run again later. */
  async release(owner: QueueOwner): Promise<void> {
    await this.db
      .updateTable('run_queue')
      .set({ state: 'queued', owner_host: null, owner_token: null, updated_at: now() })
      .where('state', '=', 'running')
      .where('owner_token', '=', owner.token)
      .execute();
  }

  async get(id: number): Promise<QueueRow | undefined> {
    return this.db.selectFrom('run_queue').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Items in some states, oldest first. */
  async list(states: QueueRow['state'][], analyzer?: string): Promise<QueueRow[]> {
    let q = this.db.selectFrom('run_queue').selectAll().where('state', 'in', states);
    if (analyzer) q = q.where('analyzer', '=', analyzer);
    return q.orderBy('id').limit(10_000).execute();
  }

  /** Number of queued items (the backlog). */
  async backlog(): Promise<number> {
    const r = await this.db
      .selectFrom('run_queue')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('state', '=', 'queued')
      .executeTakeFirst();
    return Number(r?.n ?? 0);
  }
}

/** Items fetched beyond what an analyzer may start now, for a claim whose first picks another daemon took meanwhile. */
const CLAIM_SPARE = 8;

/**
 * Mark items running for `owner`, one analyzer at a time in turn so one long backfill does not starve the others.
 * Each is a compare-and-set: one another daemon took meanwhile fails, and the analyzer's next is tried.
 */
async function takeRoundRobin(
  trx: Kysely<StateSchema>,
  owner: QueueOwner,
  ts: string,
  policy: ClaimPolicy,
  byAnalyzer: Map<string, QueueRow[]>,
  runningBy: Map<string, number>,
): Promise<QueueRow[]> {
  const picked: QueueRow[] = [];
  let progress = true;
  while (picked.length < policy.limit && progress) {
    progress = false;
    for (const [a, items] of byAnalyzer) {
      if (picked.length >= policy.limit) break;
      if ((runningBy.get(a) ?? 0) >= policy.concurrency(a)) continue;
      while (items.length > 0) {
        const item = items.shift()!;
        const res = await trx
          .updateTable('run_queue')
          .set({ state: 'running', owner_host: owner.host, owner_token: owner.token, updated_at: ts })
          .where('id', '=', item.id)
          .where('state', '=', 'queued')
          .executeTakeFirst();
        if (Number(res.numUpdatedRows) === 1) {
          picked.push({ ...item, state: 'running', owner_host: owner.host, owner_token: owner.token });
          runningBy.set(a, (runningBy.get(a) ?? 0) + 1);
          progress = true;
          break;
        }
      }
    }
  }
  return picked;
}

/** One enqueue within a transaction (QueueStore.enqueue). */
async function enqueueIn(
  trx: Kysely<StateSchema>,
  req: EnqueueRequest,
  opts: { force?: boolean },
): Promise<QueueRow | undefined> {
  const existing = await trx
    .selectFrom('run_queue')
    .selectAll()
    .where((eb) => eb.and(partitionKey(req.analyzer, req.partitionId)))
    .orderBy('id', 'desc')
    .limit(5)
    .execute();
  if (existing.some((e) => e.state === 'queued' || e.state === 'running')) return undefined;
  const lastFailed = existing.find((e) => e.state === 'failed');
  if (
    !opts.force &&
    lastFailed &&
    existing[0]?.id === lastFailed.id &&
    lastFailed.sql_hash === req.sqlHash &&
    lastFailed.input_fingerprint === (req.inputFingerprint ?? null)
  ) {
    return undefined;
  }
  const ts = now();
  return trx
    .insertInto('run_queue')
    .values({
      ...partitionKey(req.analyzer, req.partitionId),
      reason: req.reason,
      state: 'queued',
      attempts: 0,
      max_attempts: req.maxAttempts,
      not_before: ts,
      threads: null,
      memory_bytes: null,
      input_fingerprint: req.inputFingerprint ?? null,
      sql_hash: req.sqlHash,
      last_attempt_id: null,
      last_error_code: null,
      last_error: null,
      owner_host: null,
      owner_token: null,
      created_at: ts,
      updated_at: ts,
    })
    .returningAll()
    .executeTakeFirst();
}
