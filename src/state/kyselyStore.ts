import { type Kysely, Migrator, type MigrationProvider } from 'kysely';
import type { CheckResult } from '../checks/check.ts';
import { RecountError } from '../errors.ts';
import { migrations, type StateDialect } from './migrations.ts';
import { QueueStore } from './queueStore.ts';
import { ObserveStore } from './observeStore.ts';
import { beginLoad, LoadStore } from './loadStore.ts';
import { currentProcToken, HOST } from '../process/identity.ts';
import { LEASE_BEAT_MS, LeaseStore } from './leaseStore.ts';
import type {
  AttemptOutcome,
  ClaimResult,
  NewAttempt,
  RollbackClaimOptions,
  StagedVersion,
  StateStore,
} from './store.ts';
import type { AttemptStatus, StateSchema } from './types.ts';

const now = () => new Date().toISOString();

/** The StateStore over any Kysely dialect; the SQLite and PostgreSQL stores differ only in their connection. */
export class KyselyStateStore implements StateStore {
  readonly queue: QueueStore;
  readonly observe: ObserveStore;
  readonly loads: LoadStore;
  readonly leases: LeaseStore;
  private lease: { timer: NodeJS.Timeout; token: string } | undefined;
  private leasing: Promise<void> | undefined;

  constructor(
    readonly db: Kysely<StateSchema>,
    readonly dialect: StateDialect,
    readonly url: string,
  ) {
    this.leases = new LeaseStore(db, dialect);
    this.queue = new QueueStore(db, () => this.holdLease());
    this.observe = new ObserveStore(db);
    this.loads = new LoadStore(db);
  }

  /**
   * Hold this process's lease from now until close(): taken before the first attempt or queue claim it records,
   * so no row names a live owner without a lease, and beaten every LEASE_BEAT_MS (a missed beat is retried at the next).
   */
  holdLease(): Promise<void> {
    this.leasing ??= (async () => {
      const token = currentProcToken();
      await this.leases.beat(HOST, token, process.pid);
      const timer = setInterval(
        () => void this.leases.beat(HOST, token, process.pid).catch(() => undefined),
        LEASE_BEAT_MS,
      );
      timer.unref();
      this.lease = { timer, token };
    })().catch((err) => {
      this.leasing = undefined;
      throw err;
    });
    return this.leasing;
  }

  /**
   * True when every migration this recount knows has been applied: one read of the migration table, so
   * opening an up-to-date store (every command, every worker) neither takes the write lock nor builds the migrator.
   */
  async migrationsCurrent(): Promise<boolean> {
    try {
      const rows = await (this.db as unknown as Kysely<{ recount_migrations: { name: string } }>)
        .selectFrom('recount_migrations')
        .select('name')
        .execute();
      const applied = new Set(rows.map((r) => r.name));
      return Object.keys(migrations(this.dialect)).every((name) => applied.has(name));
    } catch {
      return false; // a new store: no migration table yet
    }
  }

  async migrate(): Promise<void> {
    if (await this.migrationsCurrent()) return;
    const all = migrations(this.dialect);
    const provider: MigrationProvider = { getMigrations: async () => all };
    const { error } = await new Migrator({
      db: this.db,
      provider,
      migrationTableName: 'recount_migrations',
      migrationLockTableName: 'recount_migrations_lock',
      allowUnorderedMigrations: true,
    }).migrateToLatest();
    if (error) {
      throw new RecountError('STATE_STORE', `state store ${this.url}: migration failed: ${(error as Error).message}`, {
        subject: this.url,
        hint: 'check that the state store is reachable and writable; migrations are safe to rerun',
        cause: error,
      });
    }
  }

  async close(): Promise<void> {
    if (this.lease) {
      clearInterval(this.lease.timer);
      await this.leases.release(HOST, this.lease.token).catch(() => undefined);
      this.lease = undefined;
    }
    await this.db.destroy();
  }

  async upsertAnalyzer(a: { name: string; file: string; sqlHash: string; grain: string }): Promise<void> {
    await this.db
      .insertInto('analyzers')
      .values({ name: a.name, file: a.file, sql_hash: a.sqlHash, grain: a.grain, updated_at: now() })
      .onConflict((oc) =>
        oc.column('name').doUpdateSet({ file: a.file, sql_hash: a.sqlHash, grain: a.grain, updated_at: now() }),
      )
      .execute();
  }

  async beginAttempt(a: NewAttempt): Promise<{ baseSeq: number }> {
    // The attempt row names this process as its owner: its lease comes first.
    if (a.host === HOST && a.procToken === currentProcToken()) await this.holdLease();
    return this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('partitions')
        .values({
          analyzer: a.analyzer,
          partition_id: a.partitionId,
          seq: 0,
          published_seq: null,
          pending_intent: null,
          updated_at: now(),
          held_seq: null,
          held_input: null,
          held_at: null,
        })
        .onConflict((oc) => oc.columns(['analyzer', 'partition_id']).doNothing())
        .execute();
      const p = await trx
        .selectFrom('partitions')
        .select('seq')
        .where('analyzer', '=', a.analyzer)
        .where('partition_id', '=', a.partitionId)
        .executeTakeFirstOrThrow();
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
      await trx
        .insertInto('attempts')
        .values({
          attempt_id: a.attemptId,
          run_id: a.runId,
          analyzer: a.analyzer,
          partition_id: a.partitionId,
          status: 'running',
          base_seq: Number(p.seq),
          version_seq: null,
          pid: a.pid,
          host: a.host,
          proc_token: a.procToken,
          threads: a.threads,
          memory_bytes: a.memoryBytes,
          staging_dir: a.stagingDir,
          spark_conf: a.sparkConf ? JSON.stringify(a.sparkConf) : null,
          started_at: now(),
          finished_at: null,
          rows: null,
          bytes: null,
          files: null,
          peak_rss_bytes: null,
          input_fingerprint: null,
          error_code: null,
          error_message: null,
          error_hint: null,
          timings_json: null,
          spill_bytes: null,
          duckdb_peak_bytes: null,
        })
        .execute();
      return { baseSeq: Number(p.seq) };
    });
  }

  async finishAttempt(attemptId: string, o: AttemptOutcome): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const row = await trx
        .updateTable('attempts')
        .set({
          status: o.status,
          finished_at: now(),
          rows: o.rows ?? null,
          bytes: o.bytes ?? null,
          files: o.files ?? null,
          peak_rss_bytes: o.peakRssBytes ?? null,
          input_fingerprint: o.inputFingerprint ?? null,
          version_seq: o.versionSeq ?? null,
          error_code: o.error?.code ?? null,
          error_message: o.error?.message ?? null,
          error_hint: o.error?.hint ?? null,
          timings_json: o.timings ? JSON.stringify(o.timings) : null,
          spill_bytes: o.spillBytes ?? null,
          duckdb_peak_bytes: o.duckdbPeakBytes ?? null,
        })
        .where('attempt_id', '=', attemptId)
        .returning('run_id')
        .executeTakeFirst();
      if (row) {
        await trx
          .updateTable('runs')
          .set({ status: o.status, finished_at: now() })
          .where('run_id', '=', row.run_id)
          .execute();
      }
      if (o.checks?.length) await insertChecks(trx, attemptId, o.checks);
      if (o.owedLoad && o.versionSeq !== undefined) {
        const a = await trx
          .selectFrom('attempts')
          .select(['analyzer', 'partition_id'])
          .where('attempt_id', '=', attemptId)
          .executeTakeFirst();
        if (a)
          await beginLoad(trx, {
            analyzer: a.analyzer,
            partitionId: a.partition_id,
            versionSeq: o.versionSeq,
            table: o.owedLoad.table,
          });
      }
    });
  }

  async recordChecks(attemptId: string, results: readonly CheckResult[]): Promise<void> {
    await insertChecks(this.db, attemptId, results);
  }

  async claimPublish(v: StagedVersion, baseSeq: number): Promise<ClaimResult> {
    return this.db.transaction().execute(async (trx) => {
      // The guarded UPDATE comes first so the transaction takes the write lock before it reads.
      const updated = await trx
        .updateTable('partitions')
        .set({ seq: baseSeq + 1, updated_at: now() })
        .where('analyzer', '=', v.analyzer)
        .where('partition_id', '=', v.partitionId)
        .where('seq', '=', baseSeq)
        .where('pending_intent', 'is', null)
        .$if(v.respectHold === true, (q) => q.where('held_seq', 'is', null))
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) !== 1) {
        const p = await trx
          .selectFrom('partitions')
          .selectAll()
          .where('analyzer', '=', v.analyzer)
          .where('partition_id', '=', v.partitionId)
          .executeTakeFirst();
        const reason =
          p?.pending_intent != null
            ? 'another publish of this partition is in progress'
            : v.respectHold && p?.held_seq != null && Number(p.seq) === baseSeq
              ? `the partition is held at v${p.held_seq} by a rollback (recount release ${v.analyzer} --partition ${v.partitionId} releases it)`
              : `another attempt published version ${p?.seq} first`;
        return { won: false as const, reason };
      }
      const p = await trx
        .selectFrom('partitions')
        .select('published_seq')
        .where('analyzer', '=', v.analyzer)
        .where('partition_id', '=', v.partitionId)
        .executeTakeFirstOrThrow();
      await trx
        .insertInto('versions')
        .values({
          analyzer: v.analyzer,
          partition_id: v.partitionId,
          seq: v.seq,
          attempt_id: v.attemptId,
          status: 'publishing',
          dir: v.versionDir,
          rows: v.rows,
          bytes: v.bytes,
          files: v.files,
          manifest_sha256: v.manifestSha256,
          input_fingerprint: v.inputFingerprint,
          sql_hash: v.sqlHash,
          engine_version: v.engineVersion,
          recount_version: v.recountVersion,
          created_at: now(),
          published_at: null,
        })
        .execute();
      const intent = await trx
        .insertInto('publish_intents')
        .values({
          analyzer: v.analyzer,
          partition_id: v.partitionId,
          kind: 'publish',
          target_seq: v.seq,
          from_seq: p.published_seq,
          attempt_id: v.attemptId,
          staging_dir: v.stagingDir,
          version_dir: v.versionDir,
          state: 'pending',
          created_at: now(),
          done_at: null,
          owner_host: null,
          owner_token: null,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await trx
        .updateTable('partitions')
        .set({ pending_intent: intent.id })
        .where('analyzer', '=', v.analyzer)
        .where('partition_id', '=', v.partitionId)
        .execute();
      return { won: true as const, intent };
    });
  }

  async claimRollback(
    analyzer: string,
    partitionId: string,
    targetSeq: number,
    versionDir: string,
    opts: RollbackClaimOptions = {},
  ): Promise<ClaimResult> {
    const owner = opts.owner ?? { host: HOST, token: currentProcToken() };
    // The intent names this process as its owner: its lease comes first (as for an attempt).
    if (owner.host === HOST && owner.token === currentProcToken()) await this.holdLease();
    return this.db.transaction().execute(async (trx) => {
      const p = await trx
        .selectFrom('partitions')
        .selectAll()
        .where('analyzer', '=', analyzer)
        .where('partition_id', '=', partitionId)
        .executeTakeFirst();
      if (!p) return { won: false as const, reason: 'the partition has no versions' };
      const updated = await trx
        .updateTable('partitions')
        .set({ updated_at: now() })
        .where('analyzer', '=', analyzer)
        .where('partition_id', '=', partitionId)
        .where('pending_intent', 'is', null)
        .where('seq', '=', p.seq)
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) !== 1)
        return { won: false as const, reason: 'another publish of this partition is in progress' };
      // Read under the partition's lock, which a prune's deletion takes too: a version pruned a moment ago is no target.
      const target = await trx
        .selectFrom('versions')
        .select('status')
        .where('analyzer', '=', analyzer)
        .where('partition_id', '=', partitionId)
        .where('seq', '=', targetSeq)
        .executeTakeFirst();
      if (target?.status !== 'retained' && target?.status !== 'published')
        return { won: false as const, reason: `version ${targetSeq} is no longer kept` };
      const intent = await trx
        .insertInto('publish_intents')
        .values({
          analyzer,
          partition_id: partitionId,
          kind: 'rollback',
          target_seq: targetSeq,
          from_seq: p.published_seq,
          attempt_id: null,
          staging_dir: null,
          version_dir: versionDir,
          state: 'pending',
          created_at: now(),
          done_at: null,
          owner_host: owner.host,
          owner_token: owner.token,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      // The rollback holds the partition from its claim on (cleared again if the intent is abandoned).
      await trx
        .updateTable('partitions')
        .set({ pending_intent: intent.id, held_seq: targetSeq, held_input: opts.holdInput ?? null, held_at: now() })
        .where('analyzer', '=', analyzer)
        .where('partition_id', '=', partitionId)
        .execute();
      return { won: true as const, intent };
    });
  }

  async releaseHold(analyzer: string, partitionId: string): Promise<number | null> {
    return this.db.transaction().execute(async (trx) => {
      const p = await trx
        .selectFrom('partitions')
        .select('held_seq')
        .where('analyzer', '=', analyzer)
        .where('partition_id', '=', partitionId)
        .executeTakeFirst();
      if (p?.held_seq == null) return null;
      await trx
        .updateTable('partitions')
        .set({ held_seq: null, held_input: null, held_at: null, updated_at: now() })
        .where('analyzer', '=', analyzer)
        .where('partition_id', '=', partitionId)
        .execute();
      return Number(p.held_seq);
    });
  }

  async deleteVersionUnlessClaimed(analyzer: string, partitionId: string, seq: number): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      // Lock the partition's row first, as claimRollback and claimPublish do, so the check and the deletion are one step for them.
      await trx
        .updateTable('partitions')
        .set({ updated_at: now() })
        .where('analyzer', '=', analyzer)
        .where('partition_id', '=', partitionId)
        .execute();
      const claimed = await trx
        .selectFrom('publish_intents')
        .select('id')
        .where('analyzer', '=', analyzer)
        .where('partition_id', '=', partitionId)
        .where('target_seq', '=', seq)
        .where('state', '=', 'pending')
        .executeTakeFirst();
      if (claimed) return false;
      const r = await trx
        .updateTable('versions')
        .set({ status: 'deleted' })
        .where('analyzer', '=', analyzer)
        .where('partition_id', '=', partitionId)
        .where('seq', '=', seq)
        .where('status', '=', 'retained')
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    });
  }

  async completeIntent(intentId: number): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const intent = await trx.selectFrom('publish_intents').selectAll().where('id', '=', intentId).executeTakeFirst();
      if (!intent || intent.state === 'done') return;
      const ts = now();
      await trx
        .updateTable('versions')
        .set({ status: 'retained' })
        .where('analyzer', '=', intent.analyzer)
        .where('partition_id', '=', intent.partition_id)
        .where('status', '=', 'published')
        .execute();
      await trx
        .updateTable('versions')
        .set({ status: 'published', published_at: ts })
        .where('analyzer', '=', intent.analyzer)
        .where('partition_id', '=', intent.partition_id)
        .where('seq', '=', intent.target_seq)
        .execute();
      // A publish replaces whatever a rollback held (only runs that ignore holds get this far on a held partition).
      await trx
        .updateTable('partitions')
        .set({
          published_seq: intent.target_seq,
          pending_intent: null,
          updated_at: ts,
          ...(intent.kind === 'publish' ? { held_seq: null, held_input: null, held_at: null } : {}),
        })
        .where('analyzer', '=', intent.analyzer)
        .where('partition_id', '=', intent.partition_id)
        .execute();
      await trx.updateTable('publish_intents').set({ state: 'done', done_at: ts }).where('id', '=', intentId).execute();
    });
  }

  async abandonIntent(intentId: number, _reason: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const intent = await trx.selectFrom('publish_intents').selectAll().where('id', '=', intentId).executeTakeFirst();
      if (!intent || intent.state === 'done') return;
      if (intent.kind === 'publish') {
        await trx
          .updateTable('versions')
          .set({ status: 'deleted' })
          .where('analyzer', '=', intent.analyzer)
          .where('partition_id', '=', intent.partition_id)
          .where('seq', '=', intent.target_seq)
          .execute();
      }
      await trx
        .updateTable('partitions')
        .set({ pending_intent: null, updated_at: now() })
        .where('analyzer', '=', intent.analyzer)
        .where('partition_id', '=', intent.partition_id)
        .execute();
      if (intent.kind === 'rollback') {
        // The rollback never happened: neither does its hold.
        await trx
          .updateTable('partitions')
          .set({ held_seq: null, held_input: null, held_at: null })
          .where('analyzer', '=', intent.analyzer)
          .where('partition_id', '=', intent.partition_id)
          .where('held_seq', '=', intent.target_seq)
          .execute();
      }
      await trx
        .updateTable('publish_intents')
        .set({ state: 'done', done_at: now() })
        .where('id', '=', intentId)
        .execute();
    });
  }

  async getIntent(intentId: number) {
    return this.db.selectFrom('publish_intents').selectAll().where('id', '=', intentId).executeTakeFirst();
  }

  async pendingIntents() {
    return this.db.selectFrom('publish_intents').selectAll().where('state', '=', 'pending').orderBy('id').execute();
  }

  async getPartition(analyzer: string, partitionId: string) {
    return this.db
      .selectFrom('partitions')
      .selectAll()
      .where('analyzer', '=', analyzer)
      .where('partition_id', '=', partitionId)
      .executeTakeFirst();
  }

  async listPartitions(analyzer?: string) {
    let q = this.db.selectFrom('partitions').selectAll();
    if (analyzer) q = q.where('analyzer', '=', analyzer);
    return q.orderBy('analyzer').orderBy('partition_id').execute();
  }

  async getVersion(analyzer: string, partitionId: string, seq: number) {
    return this.db
      .selectFrom('versions')
      .selectAll()
      .where('analyzer', '=', analyzer)
      .where('partition_id', '=', partitionId)
      .where('seq', '=', seq)
      .executeTakeFirst();
  }

  async listVersions(analyzer: string, partitionId: string) {
    return this.db
      .selectFrom('versions')
      .selectAll()
      .where('analyzer', '=', analyzer)
      .where('partition_id', '=', partitionId)
      .orderBy('seq', 'desc')
      .execute();
  }

  async publishedVersion(analyzer: string, partitionId: string) {
    return this.db
      .selectFrom('versions')
      .selectAll()
      .where('analyzer', '=', analyzer)
      .where('partition_id', '=', partitionId)
      .where('status', '=', 'published')
      .executeTakeFirst();
  }

  async markVersionDeleted(analyzer: string, partitionId: string, seq: number): Promise<void> {
    await this.db
      .updateTable('versions')
      .set({ status: 'deleted' })
      .where('analyzer', '=', analyzer)
      .where('partition_id', '=', partitionId)
      .where('seq', '=', seq)
      .execute();
  }

  async getAttempt(attemptId: string) {
    return this.db.selectFrom('attempts').selectAll().where('attempt_id', '=', attemptId).executeTakeFirst();
  }

  async listAttempts(f: { analyzer?: string; partitionId?: string; status?: AttemptStatus; limit?: number }) {
    let q = this.db.selectFrom('attempts').selectAll();
    if (f.analyzer) q = q.where('analyzer', '=', f.analyzer);
    if (f.partitionId) q = q.where('partition_id', '=', f.partitionId);
    if (f.status) q = q.where('status', '=', f.status);
    return q
      .orderBy('started_at', 'desc')
      .limit(f.limit ?? 1000)
      .execute();
  }

  async checkResults(attemptId: string) {
    return this.db.selectFrom('check_results').selectAll().where('attempt_id', '=', attemptId).orderBy('id').execute();
  }
}

/** Insert an attempt's check results (inside a transaction or not). */
async function insertChecks(
  db: Kysely<StateSchema>,
  attemptId: string,
  results: readonly CheckResult[],
): Promise<void> {
  if (results.length === 0) return;
  await db
    .insertInto('check_results')
    .values(
      results.map((r) => ({
        attempt_id: attemptId,
        name: r.name,
        kind: r.kind,
        severity: r.severity,
        passed: r.passed ? 1 : 0,
        failing: r.failing,
        sample_json: JSON.stringify(r.sample),
        message: r.message ?? null,
      })),
    )
    .execute();
}
