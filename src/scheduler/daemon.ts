import { existsSync } from 'node:fs';
import { freemem } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { Cron } from 'croner';
import type { Analyzer, Project } from '../config/project.ts';
import type { Dataset } from '../catalog/dataset.ts';
import { parseSize } from '../config/size.ts';
import { formatPartitionId, parsePartition, type Partition } from '../catalog/partition.ts';
import { RecountError } from '../errors.ts';
import type { StateStore } from '../state/store.ts';
import type { QueueRow } from '../state/types.ts';
import { OutputLayout } from '../commit/paths.ts';
import { recover } from '../commit/recovery.ts';
import { currentProcToken, HOST } from '../process/identity.ts';
import { ownerAlive } from '../commit/liveness.ts';
import { combinedFingerprint, isUpToDate, layoutChange, layoutMatches, resolveInputs } from '../run/fingerprint.ts';
import { newAttemptId } from '../run/runPartition.ts';
import { checkHold } from '../run/hold.ts';
import { MIN_DUCKDB_BYTES, planMemory, PROCESS_RESERVE_BYTES, smallerPlan } from '../worker/budget.ts';
import { WorkerPool, type WorkerMemorySample, type WorkerOutcome } from '../worker/pool.ts';
import type { Logger } from '../observe/log.ts';
import {
  affectedPartitions,
  candidatePartitions,
  considerFrom,
  markersUnder,
  partitionOfMarker,
  readersOf,
} from './discovery.ts';
import { judgeOutcome } from './judgeOutcome.ts';
import { backoffDelay, DEFAULT_RETRY, isRetryable } from './retry.ts';
import type { QueueOwner } from '../state/queueStore.ts';
import { computeSlots } from './slots.ts';

/** Settings of a daemon, from the config's `serve` block and the command line. */
export interface DaemonOptions {
  readonly minWorkers: number;
  readonly maxWorkers: number;
  readonly scanIntervalMs: number;
  readonly watch?: boolean;
  readonly log: Logger;
  /** Extra environment for worker processes. */
  readonly workerEnv?: NodeJS.ProcessEnv;
  readonly onMemory?: (s: WorkerMemorySample) => void;
  /** Called after every attempt the daemon ran (for metrics and alerts). */
  readonly onAttempt?: (e: AttemptEvent) => void;
}

/** What the daemon reports after an attempt. */
export interface AttemptEvent {
  readonly analyzer: string;
  readonly partition: string;
  readonly attemptId: string;
  readonly outcome: 'succeeded' | 'superseded' | 'failed' | 'oom' | 'crashed';
  readonly final: boolean;
  readonly errorCode?: string;
  readonly error?: string;
  readonly durationMs: number;
  readonly rows?: number;
  readonly peakRssBytes: number;
  readonly spillBytes?: number;
  /** The attempt's memory budget (what memory alerts measure shares of). */
  readonly budgetBytes?: number;
  /** Why an out-of-memory attempt ended: killed past its RSS budget, V8 heap exhausted, or DuckDB's own limit. */
  readonly oomReason?: 'rss' | 'v8-heap' | 'duckdb';
}

/**
 * `recount serve`: finds ready partitions (file watching for latency, periodic rescans as the source of
 * truth), queues runs in the state store, and runs them in a pool of worker processes with retries.
 */
export class Daemon {
  readonly owner: QueueOwner = { host: HOST, token: currentProcToken() };
  readonly pool: WorkerPool;
  private readonly layout: OutputLayout;
  private readonly running = new Map<number, Promise<void>>();
  /** `analyzer/partition` of the runs in `running`: a load owed there waits, the run's own load follows its publish. */
  private readonly runningKeys = new Set<string>();
  /** Warehouse loads running in workers, by `analyzer/partition`. */
  private readonly loadJobs = new Map<string, Promise<void>>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly crons: Cron[] = [];
  /** File watchers of dataset roots: the ones there at start, then one per root that appeared later. */
  private readonly watchers: FSWatcher[] = [];
  private watching = false;
  private definitionWatcher: FSWatcher | undefined;
  private readonly watchedRoots = new Set<string>();
  private stopping = false;
  private ticking = false;
  private tickAgain = false;
  private scanning: Promise<void> = Promise.resolve();
  /** What this daemon did since it started: `serve --until-idle` reports it and exits 1 when runs failed for good. */
  readonly summary = { succeeded: 0, failedForGood: [] as string[] };

  constructor(
    readonly project: Project,
    readonly store: StateStore,
    readonly opts: DaemonOptions,
  ) {
    this.layout = new OutputLayout(project.outputRoot);
    const serve = project.config.serve;
    this.pool = new WorkerPool({
      projectDir: project.dir,
      maxAttemptsPerWorker: serve.workerMaxAttempts,
      maxIdleRssBytes: parseSize(serve.workerMaxIdleRss, 'serve.workerMaxIdleRss'),
      postmortemDir: resolve(project.dir, serve.postmortemDir),
      env: opts.workerEnv,
      onMemory: opts.onMemory,
      onRecycle: (pid, why) => opts.log.info({ pid, why }, 'worker recycled'),
    });
  }

  /** Number of attempts running now. */
  get runningCount(): number {
    return this.running.size;
  }

  /**
   * Nothing queued or running: checked against the queue in the state store (an item stays 'running' there
   * from its claim until its outcome is recorded), so a claim in flight never looks idle.
   */
  async isIdle(): Promise<boolean> {
    if (this.running.size > 0 || this.loadJobs.size > 0 || this.ticking) return false;
    return (
      (await this.store.queue.list(['queued', 'running'])).length === 0 &&
      this.running.size === 0 &&
      this.loadJobs.size === 0 &&
      !this.ticking
    );
  }

  /** Recover, requeue what a dead daemon held, scan, then watch, rescan and dispatch until stopped. */
  async start(): Promise<void> {
    const rec = await recover(this.store, this.layout, { spillDir: this.project.spillDir });
    const requeued = await this.store.queue.requeueOrphans((host, token) => ownerAlive(this.store, host, token));
    this.opts.log.info(
      { recovered: rec.rolledForward.length, crashedAttempts: rec.crashedAttempts.length, requeued },
      'daemon started',
    );
    for (const a of this.project.analyzers.values()) {
      // A new project's history (or a lookback that is too short) would otherwise be skipped without a word.
      const since = considerFrom(a, this.project.config.serve.lookbackHours);
      const before = candidatePartitions(this.project, a, new Date(0)).filter((p) => p.start < since).length;
      if (before > 0) {
        this.opts.log.info(
          { analyzer: a.name, partitions: before, from: since.toISOString() },
          `${before} partition(s) of ${a.name} with input before ${since.toISOString().slice(0, 13)} are left alone (${a.start ? `start: '${a.start}'` : `serve.lookbackHours: ${this.project.config.serve.lookbackHours}`}); publish them with recount backfill, or set start in ${a.file}`,
        );
      }
      if (a.memoryBytes < PROCESS_RESERVE_BYTES + MIN_DUCKDB_BYTES * 4) {
        this.opts.log.warn(
          {
            analyzer: a.name,
            budgetMB: Math.round(a.memoryBytes / 1e6),
            reserveMB: Math.round(PROCESS_RESERVE_BYTES / 1e6),
          },
          `memory budget of ${a.name} leaves DuckDB almost nothing after the ${Math.round(PROCESS_RESERVE_BYTES / 1e6)} MB a worker process needs; its attempts will likely end as oom. Give it at least 256MB (memory in ${a.file})`,
        );
      }
    }
    await this.scan();
    if (this.opts.watch !== false) this.startWatching();
    // The rescan also recovers: an orphan worker of a daemon that crashed may die after this daemon started.
    this.timers.push(
      setInterval(
        () =>
          void recover(this.store, this.layout, { spillDir: this.project.spillDir })
            .catch((err) => this.opts.log.warn({ err }, 'recovery failed'))
            .then(() => this.watchNewRoots())
            .then(() => this.scan())
            .then(() => this.tick())
            .then(() => this.retryLoads()),
        this.opts.scanIntervalMs,
      ),
    );
    this.timers.push(setInterval(() => void this.tick(), 250));
    for (const a of this.project.analyzers.values()) if (a.schedule) this.schedule(a);
    void this.tick().then(() => this.retryLoads());
  }

  /**
   * Load what the warehouse is owed (I5): a load that failed for a passing reason (unreachable, busy, a failed
   * COPY), one killed mid-way, or none at all when a worker died between publish and load. Each is retried
   * in a worker with exponential backoff (serve.loadRetries) until it loads; a load that needs a fix first
   * (incompatible table, mismatch, files gone) stays `failed` for \`recount load --pending\`. Loads share the
   * worker slots with attempts and never run beside an attempt of the same partition.
   */
  async retryLoads(): Promise<void> {
    if (this.stopping) return;
    const withLoad = [...this.project.analyzers.values()].filter((a) => a.load).map((a) => a.name);
    if (withLoad.length === 0) return;
    const policy = { max: Infinity, ...this.project.config.serve.loadRetries };
    try {
      for (const o of await this.store.loads.owed(withLoad)) {
        const key = `${o.analyzer}/${o.partitionId}`;
        if (this.stopping || this.running.size + this.loadJobs.size >= this.opts.maxWorkers) return;
        if (this.loadJobs.has(key) || this.runningKeys.has(key)) continue;
        // No jitter: loads run one per slot, and a fixed due time keeps a rescan from starting one early.
        if (Date.parse(o.lastAt) + backoffDelay(policy, o.tries, () => 1) > Date.now()) continue;
        const job = this.load(o.analyzer, o.partitionId, o.versionSeq, o.tries, o.errorCode).finally(() => {
          this.loadJobs.delete(key);
          void this.tick();
        });
        this.loadJobs.set(key, job);
      }
    } catch (err) {
      this.opts.log.error({ err }, 'retrying warehouse loads failed');
    }
  }

  private async load(
    analyzer: string,
    partition: string,
    version: number,
    tries: number,
    lastError: string | undefined,
  ): Promise<void> {
    const a = this.project.analyzers.get(analyzer)!;
    const log = this.opts.log.child({ analyzer, partition, version });
    log.info(
      { table: a.load!.table, try: tries + 1, lastError },
      tries === 0 ? 'load owed: loading' : 'load retry started',
    );
    const outcome = await this.pool.load({
      jobId: `load-${newAttemptId()}`,
      analyzer,
      partition,
      version,
      plan: planMemory(a.memoryBytes, a.threadCount),
    });
    if (outcome.kind === 'report' && outcome.report.status !== 'failed')
      log.info(
        { rows: outcome.report.rows, durationMs: Math.round(outcome.report.durationMs), status: outcome.report.status },
        'load retried: done',
      );
    else if (outcome.kind === 'report')
      log.warn(
        { code: outcome.report.error?.code, error: outcome.report.error?.message },
        'load retry failed; the table keeps its previous rows',
      );
    else log.warn({ outcome: outcome.kind }, 'load retry: the worker died; the table keeps its previous rows');
  }

  private startWatching(): void {
    this.watching = true;
    // chokidar never notices a root that does not exist yet: those are added by watchNewRoots on a rescan.
    const existing = [...this.project.datasets.values()].filter((d) => !d.producer && existsSync(d.root));
    for (const d of existing) this.watchedRoots.add(d.root);
    this.watchDatasets(existing, () =>
      this.opts.log.info({ datasets: existing.map((d) => d.name) }, 'watching dataset folders'),
    );
    // Definitions are read once, at start (workers load the same ones): an edit must not pass unnoticed.
    this.definitionWatcher = watch([join(this.project.dir, 'analyzers'), join(this.project.dir, 'recount.config.ts')], {
      ignoreInitial: true,
      depth: 2,
    });
    const onDefinition = (path: string) =>
      this.opts.log.warn(
        { file: relative(this.project.dir, path) },
        'a definition changed on disk; restart recount serve to use it (analyzers and config are read at start)',
      );
    this.definitionWatcher.on('add', onDefinition).on('change', onDefinition).on('unlink', onDefinition);
  }

  /**
   * Watch datasets' roots for partitions landing: a `_SUCCESS` written or copied in, and a partition folder (or a
   * whole dt= folder) renamed into place with its `_SUCCESS` already inside. chokidar misses what lands before it
   * has walked the folders (its 'ready'), so only then is a dataset reported as watched, and its readers are
   * scanned once more: a partition that landed meanwhile is queued now, not at the next periodic rescan.
   */
  private watchDatasets(datasets: readonly Dataset[], onReady: () => void): void {
    if (datasets.length === 0) return;
    const watcher = watch(
      datasets.map((d) => d.root),
      { ignoreInitial: true, depth: 3, ignored: (p: string) => /\/\.[^/]*$/.test(p) },
    );
    this.watchers.push(watcher);
    const datasetOf = (path: string) => datasets.find((d) => path.startsWith(d.root + '/'));
    const onMarker = (path: string) => {
      if (!path.endsWith('_SUCCESS')) return;
      const ds = datasetOf(path);
      const p = ds && partitionOfMarker(ds, path.slice(ds.root.length + 1));
      if (!ds || !p) return;
      this.opts.log.debug({ dataset: ds.name, partition: p.id }, 'partition ready');
      void this.scanAffected(ds.name, p).then(() => this.tick());
    };
    // A folder renamed into place arrives whole: its markers are looked up at once rather than left to the
    // events chokidar may or may not send for the files inside it.
    const onFolder = (path: string) => {
      const ds = datasetOf(path);
      if (ds) for (const marker of markersUnder(ds, path.slice(ds.root.length + 1))) onMarker(join(ds.root, marker));
    };
    watcher.on('add', onMarker).on('change', onMarker).on('addDir', onFolder);
    watcher.on('ready', () => {
      if (this.stopping) return;
      onReady();
      const readers = [...new Set(datasets.flatMap((d) => readersOf(this.project, d.name)))];
      void this.scan({ analyzers: readers }).then(() => this.tick());
    });
  }

  /** Watch source roots that appeared since the daemon started (the first partitions of a new dataset). */
  private watchNewRoots(): void {
    if (!this.watching) return;
    for (const d of this.project.datasets.values()) {
      if (d.producer || this.watchedRoots.has(d.root) || !existsSync(d.root)) continue;
      this.watchedRoots.add(d.root);
      this.watchDatasets([d], () =>
        this.opts.log.info({ dataset: d.name, root: d.root }, 'dataset folder appeared; watching it'),
      );
    }
  }

  private schedule(a: Analyzer): void {
    try {
      this.crons.push(
        new Cron(a.schedule!, () => {
          // The newest closed partition as of now: the previous hour or day.
          const p = parsePartition(
            formatPartitionId(new Date(Date.now() - (a.grain === 'hour' ? 3_600_000 : 86_400_000)), a.grain),
            a.grain,
          );
          let fingerprint: string;
          try {
            fingerprint = combinedFingerprint(resolveInputs(this.project, a, p));
          } catch (err) {
            // Not landed yet: no failed run and no alert; the watcher or a rescan queues it once its inputs are ready.
            this.opts.log.info(
              { analyzer: a.name, partition: p.id, reason: (err as Error).message },
              'scheduled partition not ready yet; it runs when its inputs land',
            );
            return;
          }
          void this.enqueue(a, p, 'schedule', fingerprint).then(() => this.tick());
        }),
      );
    } catch (err) {
      throw new RecountError(
        'CONFIG_INVALID',
        `${a.file}: schedule '${a.schedule}' is not a cron expression: ${(err as Error).message}`,
        { subject: `${a.file}: schedule`, hint: "write a cron expression such as '5 * * * *'" },
      );
    }
  }

  /** Scan every analyzer's candidate partitions and queue those whose inputs are ready and changed. */
  scan(only?: { analyzers: Analyzer[]; partitions?: Partition[] }): Promise<void> {
    this.scanning = this.scanning.then(async () => {
      if (this.stopping) return;
      const analyzers = only?.analyzers ?? [...this.project.analyzers.values()];
      for (const a of analyzers) {
        const since = considerFrom(a, this.project.config.serve.lookbackHours);
        const parts = only?.partitions ?? candidatePartitions(this.project, a, since);
        for (const p of parts) if (p.start >= since) await this.enqueueIfStale(a, p);
      }
    });
    return this.scanning;
  }

  private scanAffected(dataset: string, p: Partition): Promise<void> {
    const readers = readersOf(this.project, dataset);
    return Promise.all(readers.map((a) => this.scan({ analyzers: [a], partitions: affectedPartitions(p, a) }))).then(
      () => undefined,
    );
  }

  private async enqueueIfStale(a: Analyzer, p: Partition): Promise<void> {
    let fingerprint: string;
    try {
      fingerprint = combinedFingerprint(resolveInputs(this.project, a, p));
    } catch {
      return; // not ready yet
    }
    // A rollback holds the partition at its version, whatever the definition says now, until new input or a release.
    const hold = await checkHold(this.store, this.project, a, p, fingerprint);
    if (hold.state === 'held') return;
    if (hold.state === 'released')
      this.opts.log.info(
        { analyzer: a.name, partition: p.id, heldVersion: hold.seq },
        `hold of a rollback released: ${hold.reason}`,
      );
    const published = await this.store.publishedVersion(a.name, p.id);
    if (
      published &&
      published.input_fingerprint === fingerprint &&
      published.sql_hash === a.sqlHash &&
      layoutMatches(a, published.dir)
    )
      return;
    const reason = !published
      ? 'new-data'
      : published.input_fingerprint !== fingerprint
        ? 'changed-input'
        : published.sql_hash !== a.sqlHash
          ? 'changed-sql'
          : 'changed-layout';
    const why =
      reason === 'changed-layout'
        ? `v${published!.seq}: ${layoutChange(a, published!.dir) ?? 'laid out otherwise'}`
        : undefined;
    await this.enqueue(a, p, reason, fingerprint, why);
  }

  private async enqueue(
    a: Analyzer,
    p: Partition,
    reason: string,
    inputFingerprint?: string,
    why?: string,
  ): Promise<void> {
    const item = await this.store.queue.enqueue({
      analyzer: a.name,
      partitionId: p.id,
      reason,
      maxAttempts: (a.retries ?? DEFAULT_RETRY).max,
      sqlHash: a.definitionHash,
      inputFingerprint,
    });
    // A layout change reruns a partition whose input and SQL did not change: say why (an engine upgrade, say).
    if (item && why)
      this.opts.log.warn({ analyzer: a.name, partition: p.id, reason, why }, `queued: layout changed (${why})`);
    else if (item) this.opts.log.info({ analyzer: a.name, partition: p.id, reason }, 'queued');
  }

  /** How many attempts may run now: the backlog, between min and max workers, and what free memory allows. */
  private slots(backlog: number): number {
    return computeSlots({
      running: this.running.size,
      backlog,
      minWorkers: this.opts.minWorkers,
      maxWorkers: this.opts.maxWorkers,
      freeMemoryBytes: freemem(),
      largestBudgetBytes: Math.max(...[...this.project.analyzers.values()].map((a) => a.memoryBytes), 1),
    });
  }

  /** Claim due runs into free slots. */
  async tick(): Promise<void> {
    if (this.stopping) return;
    if (this.ticking) {
      this.tickAgain = true;
      return;
    }
    this.ticking = true;
    try {
      do {
        this.tickAgain = false;
        const backlog = await this.store.queue.backlog();
        const free = this.slots(backlog) - this.running.size - this.loadJobs.size;
        if (free > 0 && backlog > 0) {
          const items = await this.store.queue.claim(this.owner, {
            limit: free,
            concurrency: (name) => this.project.analyzers.get(name)?.concurrency ?? this.opts.maxWorkers,
            order: (name) => this.project.analyzers.get(name)?.order ?? 'oldest',
          });
          for (const item of items) {
            const key = `${item.analyzer}/${item.partition_id}`;
            this.runningKeys.add(key);
            // execute() records its own failures; anything it throws besides is logged here, never left unhandled.
            const p = this.execute(item)
              .catch((err) =>
                this.opts.log.error(
                  { err, analyzer: item.analyzer, partition: item.partition_id },
                  'attempt bookkeeping failed; the queue item is requeued when this daemon restarts',
                ),
              )
              .finally(() => {
                this.running.delete(item.id);
                this.runningKeys.delete(key);
                void this.tick();
              });
            this.running.set(item.id, p);
          }
        }
        this.pool.trimIdle(Math.max(this.opts.minWorkers, this.running.size));
      } while (this.tickAgain && !this.stopping);
    } catch (err) {
      this.opts.log.error({ err }, 'dispatch failed');
    } finally {
      this.ticking = false;
    }
  }

  private async execute(item: QueueRow): Promise<void> {
    const a = this.project.analyzers.get(item.analyzer);
    if (!a) {
      await this.store.queue.fail(item.id, {
        errorCode: 'ANALYZER_UNKNOWN',
        error: `analyzer '${item.analyzer}' is no longer defined`,
      });
      return;
    }
    if (
      item.reason !== 'manual' &&
      (await isUpToDate(this.store, this.project, a, parsePartition(item.partition_id, a.grain)))
    ) {
      // Published meanwhile from the same input and SQL (e.g. by the attempt a crashed daemon left running).
      await this.store.queue.succeed(item.id);
      this.opts.log.info({ analyzer: a.name, partition: item.partition_id }, 'already up to date; not rerun');
      return;
    }
    if (item.reason !== 'manual') {
      // Queued before a rollback held the partition: the rollback sticks (a dashboard rerun, 'manual', overrides it).
      const hold = await checkHold(this.store, this.project, a, parsePartition(item.partition_id, a.grain));
      if (hold.state === 'held') {
        await this.store.queue.succeed(item.id);
        this.opts.log.info(
          { analyzer: a.name, partition: item.partition_id, heldVersion: hold.seq },
          'held by a rollback; not rerun (recount release lets it run)',
        );
        return;
      }
      if (hold.state === 'released')
        this.opts.log.info(
          { analyzer: a.name, partition: item.partition_id, heldVersion: hold.seq },
          `hold of a rollback released: ${hold.reason}`,
        );
    }
    const base = planMemory(a.memoryBytes, item.threads ?? a.threadCount);
    const plan = item.memory_bytes ? { ...base, duckdbBytes: Number(item.memory_bytes) } : base;
    const attemptId = newAttemptId();
    await this.store.queue.startAttempt(item.id, attemptId);
    const log = this.opts.log.child({ analyzer: a.name, partition: item.partition_id, attempt: attemptId });
    log.info(
      {
        threads: plan.threads,
        duckdbMB: Math.round(plan.duckdbBytes / 1e6),
        budgetMB: Math.round(plan.budgetBytes / 1e6),
        try: item.attempts + 1,
      },
      'attempt started',
    );
    const started = Date.now();
    const outcome = await this.pool.run({
      attemptId,
      analyzer: a.name,
      partition: item.partition_id,
      trigger: item.reason,
      plan,
    });
    await this.settle(item, a, attemptId, plan, outcome, Date.now() - started, log);
  }

  private async settle(
    item: QueueRow,
    a: Analyzer,
    attemptId: string,
    plan: ReturnType<typeof planMemory>,
    outcome: WorkerOutcome,
    durationMs: number,
    log: Logger,
  ): Promise<void> {
    const attempts = item.attempts + 1;
    const policy = a.retries ?? DEFAULT_RETRY;
    const verdict = judgeOutcome(outcome, {
      stopping: this.stopping,
      tries: attempts,
      maxTries: policy.max,
      heapMb: plan.heapMb,
      postmortemDir: this.project.config.serve.postmortemDir,
    });
    const run = { item, attemptId, plan };
    if (verdict.kind === 'abandoned') {
      // Killed by the drain, not by its own fault: back to the queue, to run after the restart, and the try
      // it used is given back (a drain timeout must not use up an analyzer's retries).
      await this.markDead(run, 'crashed', 'ABANDONED', 'the daemon stopped during the attempt');
      await this.store.queue.retryLater(item.id, {
        notBefore: new Date(),
        errorCode: 'ABANDONED',
        error: 'the daemon stopped during the attempt',
        refundAttempt: true,
      });
      log.warn('attempt abandoned by shutdown; requeued');
      return;
    }
    if (verdict.kind === 'done') {
      const r = (outcome as Extract<WorkerOutcome, { kind: 'report' }>).report;
      await this.store.queue.succeed(item.id);
      this.summary.succeeded++;
      log.info({ version: r.version, rows: r.rows, durationMs: r.durationMs, status: r.status }, 'attempt succeeded');
      this.opts.onAttempt?.({
        analyzer: a.name,
        partition: item.partition_id,
        attemptId,
        outcome: verdict.status,
        final: true,
        durationMs,
        rows: r.rows,
        peakRssBytes: outcome.peakRssBytes,
        spillBytes: r.spillBytes,
        budgetBytes: plan.budgetBytes,
      });
      await this.scanAffected(a.name, parsePartition(item.partition_id, a.grain));
      return;
    }
    const { code, message } = verdict;
    // A failure after the publish claim leaves an intent to finish; recovery rolls it forward now.
    if (verdict.recoverIntent) await this.recoverOrWarn(log);
    if (verdict.workerDied) await this.markDead(run, verdict.status === 'oom' ? 'oom' : 'crashed', code, message);
    this.opts.onAttempt?.({
      analyzer: a.name,
      partition: item.partition_id,
      attemptId,
      outcome: verdict.status,
      final: !verdict.retry,
      errorCode: code,
      error: message,
      durationMs,
      peakRssBytes: outcome.peakRssBytes,
      budgetBytes: plan.budgetBytes,
      oomReason: verdict.oomReason,
    });
    if (verdict.retry) {
      const delay = backoffDelay(policy, attempts);
      const smaller = verdict.degrade ? smallerPlan(plan, verdict.degrade) : undefined;
      await this.store.queue.retryLater(item.id, {
        notBefore: new Date(Date.now() + delay),
        errorCode: code,
        error: message,
        ...(smaller ? { threads: smaller.threads, memoryBytes: smaller.duckdbBytes } : {}),
      });
      log.warn(
        {
          code,
          error: message,
          retryInMs: delay,
          try: attempts,
          of: policy.max,
          ...(smaller ? { nextThreads: smaller.threads, nextDuckdbMB: Math.round(smaller.duckdbBytes / 1e6) } : {}),
        },
        'attempt failed; will retry',
      );
    } else {
      await this.store.queue.fail(item.id, { errorCode: code, error: message });
      this.summary.failedForGood.push(`${a.name} ${item.partition_id} [${code}]`);
      log.error(
        {
          code,
          error: message,
          tries: attempts,
          permanent: !isRetryable(code),
          hint: `not retried until its input or definition changes; after a fix: recount run ${a.name} --partition ${item.partition_id}`,
        },
        'run failed for good',
      );
    }
  }

  /** Record an attempt whose worker died (the worker could not) and clean up its staging. */
  private async markDead(
    run: { item: QueueRow; attemptId: string; plan: ReturnType<typeof planMemory> },
    status: 'oom' | 'crashed',
    code: string,
    message: string,
  ): Promise<void> {
    const { attemptId } = run;
    let a = await this.store.getAttempt(attemptId);
    if (!a) {
      // Killed before the worker recorded the attempt (e.g. the watchdog at start-up): record it here, so
      // every attempt the daemon made has its row and its error.
      await this.store.beginAttempt({
        runId: attemptId,
        attemptId,
        analyzer: run.item.analyzer,
        partitionId: run.item.partition_id,
        trigger: run.item.reason,
        pid: process.pid,
        host: HOST,
        procToken: this.owner.token,
        threads: run.plan.threads,
        memoryBytes: run.plan.duckdbBytes,
        stagingDir: this.layout.stagingDir(attemptId),
      });
      a = await this.store.getAttempt(attemptId);
    }
    // A recovery (the periodic rescan's, another command's) may have seen the dead worker first and recorded only
    // that it died: the daemon knows how (out of memory, which signal), so its record replaces that one.
    const crashedByRecovery = a?.status === 'crashed' && a.error_code === 'CRASHED';
    if (a?.status === 'running' || crashedByRecovery) {
      await this.store.finishAttempt(attemptId, {
        status,
        error: {
          code,
          message,
          hint:
            status === 'oom'
              ? 'retried with fewer threads and a lower DuckDB limit; raise memory if it keeps failing'
              : 'retried; nothing of this attempt was published',
        },
      });
    }
    await this.recoverOrWarn(
      this.opts.log.child({ analyzer: run.item.analyzer, partition: run.item.partition_id, attempt: attemptId }),
    );
  }

  /**
   * Recover after an attempt, or log why it could not: a failing recovery (a folder it may not read, the state store
   * gone for a moment) must not become an unhandled rejection that kills the daemon; the rescan recovers again.
   */
  private async recoverOrWarn(log: Logger): Promise<void> {
    try {
      await recover(this.store, this.layout, { spillDir: this.project.spillDir });
    } catch (err) {
      log.warn({ err }, 'recovery failed; the next rescan retries it');
    }
  }

  /**
   * Drain: take no new attempts, let running ones finish for up to `timeoutMs`, then kill the rest;
   * their queue items go back to the queue and their attempts are recorded as crashed by recovery.
   */
  async stop(timeoutMs = 30_000): Promise<void> {
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    for (const c of this.crons) c.stop();
    await Promise.all(this.watchers.map((w) => w.close()));
    await this.definitionWatcher?.close();
    const all = Promise.all([...this.running.values(), ...this.loadJobs.values()]);
    const timedOut = await Promise.race([
      all.then(() => false),
      new Promise<boolean>((r) => setTimeout(() => r(true), timeoutMs).unref()),
    ]);
    await this.pool.shutdown();
    if (timedOut) {
      await Promise.race([all, new Promise((r) => setTimeout(r, 5000))]);
      await this.store.queue.release(this.owner);
    }
    await this.scanning;
    await this.recoverOrWarn(this.opts.log);
    this.opts.log.info({ abandoned: timedOut }, 'daemon stopped');
  }
}
