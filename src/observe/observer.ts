import { type AttemptTable, isFailedStatus } from '../state/types.ts';
import { SerialQueue } from '../serialQueue.ts';
import type { Project } from '../config/project.ts';
import type { StateStore } from '../state/store.ts';
import type { AttemptEvent } from '../scheduler/daemon.ts';
import type { WorkerMemorySample } from '../worker/pool.ts';
import { analyzerLag } from '../scheduler/lag.ts';
import type { Logger } from '../log.ts';
import { RecountMetrics } from './metrics.ts';
import { MemoryMonitor, memoryAlertKey } from './memoryMonitor.ts';
import type { Alerter } from './alerts/alerter.ts';
import { alerterFromConfig } from './alerts/fromConfig.ts';
import {
  checkAlertPrefix,
  checkFailedAlert,
  failedAlertKey,
  failedForGoodAlert,
  oomAlert,
  oomAlertKey,
} from './attemptAlerts.ts';

/** What the observer needs to know of the daemon it watches. */
export interface ObservedDaemon {
  readonly runningCount: number;
  readonly pool: { pids(): number[] };
}

/** Settings of an observer. */
export interface ObserverOptions {
  readonly log: Logger;
  /** How often lag and failed loads are checked. */
  readonly healthIntervalMs?: number;
  /** Off for benchmarks that measure the daemon without observability. */
  readonly processMetrics?: boolean;
  /** Memory samples older than this are pruned. */
  readonly keepSamplesDays?: number;
}

/**
 * Observability of `recount serve`: turns the daemon's hooks (worker memory, finished attempts) and periodic
 * health checks (lag, failed loads) into Prometheus metrics, stored memory samples and alerts.
 */
export class Observer {
  readonly metrics: RecountMetrics;
  readonly alerter: Alerter;
  readonly monitor: MemoryMonitor;
  private lag = new Map<string, number>();
  private daemon: ObservedDaemon | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly queue = new SerialQueue();
  private healthDue: NodeJS.Timeout | undefined;
  private healthRunning: Promise<void> | undefined;
  private healthAt = 0;

  constructor(
    readonly project: Project,
    readonly store: StateStore,
    private readonly opts: ObserverOptions,
  ) {
    this.metrics = new RecountMetrics(
      {
        analyzers: () => [...project.analyzers.keys()],
        running: () => this.daemon?.runningCount ?? 0,
        workerPids: () => this.daemon?.pool.pids() ?? [],
        queueCounts: () => store.observe.reads.queueCounts(),
        loadCounts: () => store.observe.reads.loadCounts(),
        openAlerts: () => store.observe.alerts.openCounts(),
        lag: () => this.lag,
      },
      { processMetrics: opts.processMetrics },
    );
    const cfg = project.config.alerts;
    this.alerter = alerterFromConfig(cfg, store, opts.log, this.metrics);
    this.monitor = new MemoryMonitor({
      warnShare: cfg.memoryWarn,
      criticalShare: cfg.memoryCritical,
      alerter: this.alerter,
      samples: store.observe.samples,
      metrics: this.metrics,
      log: opts.log,
    });
  }

  /** Lag per analyzer in seconds, as last computed (empty until the first health check). */
  get lagSeconds(): ReadonlyMap<string, number> {
    return this.lag;
  }

  /** The daemon's hooks: pass them to `new Daemon(…, { ...observer.hooks })`. */
  get hooks(): { onMemory: (s: WorkerMemorySample) => void; onAttempt: (e: AttemptEvent) => void } {
    return {
      onMemory: (s) => this.monitor.sample(s),
      onAttempt: (e) => {
        void this.queue
          .run(() => this.attempt(e))
          .catch((err) => this.opts.log.error({ err, attempt: e.attemptId }, 'observing an attempt failed'));
        // Lag moves when a partition publishes; during a burst of attempts it is refreshed every few seconds, not after each.
        this.scheduleHealth(Math.max(1_000, this.healthAt + 5_000 - Date.now()));
      },
    };
  }

  /** Start the periodic health checks against a running daemon. */
  start(daemon: ObservedDaemon): void {
    this.daemon = daemon;
    const every = this.opts.healthIntervalMs ?? 30_000;
    this.timers.push(setInterval(() => this.scheduleHealth(0), every));
    const days = this.opts.keepSamplesDays ?? 30;
    const prune = () =>
      void this.store.observe.samples
        .prune(new Date(Date.now() - days * 86_400_000))
        .catch((err) => this.opts.log.warn({ err }, 'could not prune memory samples'));
    prune();
    this.timers.push(setInterval(prune, 6 * 3_600_000));
    for (const t of this.timers) t.unref();
    this.scheduleHealth(0);
  }

  /** Wait until every observed attempt is recorded (tests and shutdown). */
  async settled(): Promise<void> {
    await this.queue.idle();
    await this.monitor.flush();
  }

  /** Stop: store buffered samples, let webhooks deliver for up to `flushMs`. */
  async stop(flushMs = 2_000): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    clearTimeout(this.healthDue);
    await this.healthRunning;
    await this.queue.idle();
    await this.monitor.stop();
    await this.alerter.flush(flushMs);
  }

  /** Record a finished attempt: its metrics, its memory verdict, and the alerts it raises or resolves. */
  private async attempt(e: AttemptEvent): Promise<void> {
    const row = await this.store.getAttempt(e.attemptId);
    const killed = e.outcome === 'oom' || e.outcome === 'crashed';
    if (killed && e.peakRssBytes > 0) await this.store.observe.reads.fillPeakRss(e.attemptId, e.peakRssBytes);
    this.countAttempt(e, row);
    const calm = await this.monitor.attemptEnded({
      attemptId: e.attemptId,
      analyzer: e.analyzer,
      partition: e.partition,
      peakRssBytes: e.peakRssBytes,
      budgetBytes: e.budgetBytes,
      killed,
    });
    // One read of what is open for this partition; resolves are only issued for alerts that are (most attempts resolve nothing).
    const open = new Set(
      (await this.store.observe.alerts.list({ status: 'open', analyzer: e.analyzer, partition: e.partition })).map(
        (a) => a.key,
      ),
    );
    const resolve = (key: string, why: string) =>
      open.has(key) ? this.alerter.resolve(key, why) : Promise.resolve(undefined);
    if (calm) await resolve(memoryAlertKey(e.analyzer, e.partition), calm);
    await this.checkAlerts(e, open, resolve);
    if (e.outcome === 'oom') await this.alerter.raise(oomAlert(e));
    if (isFailedStatus(e.outcome) && e.final) await this.alerter.raise(failedForGoodAlert(e, row));
    if (e.outcome === 'succeeded' || e.outcome === 'superseded') {
      await resolve(failedAlertKey(e), `attempt ${e.attemptId} ${e.outcome}`);
      await resolve(oomAlertKey(e), `attempt ${e.attemptId} ${e.outcome}`);
    }
  }

  /** Metrics of a finished attempt; what it published is read from its stored row. */
  private countAttempt(e: AttemptEvent, row: AttemptTable | undefined): void {
    this.metrics.attempt({
      analyzer: e.analyzer,
      outcome: e.outcome,
      durationMs: e.durationMs,
      rows: row?.rows == null ? e.rows : Number(row.rows),
      bytes: row?.bytes == null ? 0 : Number(row.bytes),
      files: row?.files == null ? 0 : Number(row.files),
      peakRssBytes: e.peakRssBytes,
      spillBytes: row?.spill_bytes == null ? e.spillBytes : Number(row.spill_bytes),
    });
    if (e.outcome === 'oom') this.metrics.oomKill(e.analyzer, e.oomReason ?? 'rss');
  }

  /** Raise an alert per failing check of the attempt; resolve the partition's open check alerts that passed. */
  private async checkAlerts(
    e: AttemptEvent,
    open: ReadonlySet<string>,
    resolve: (key: string, why: string) => Promise<unknown>,
  ): Promise<void> {
    const checks = await this.store.checkResults(e.attemptId);
    const failing = checks.filter((c) => c.passed !== 1);
    for (const c of failing) {
      this.metrics.checkFailed(e.analyzer, c.name, c.severity);
      await this.alerter.raise(checkFailedAlert(e, c));
    }
    if (checks.length === 0) return;
    const prefix = checkAlertPrefix(e);
    const stillFailing = new Set(failing.map((c) => `${prefix}${c.name}`));
    for (const key of open)
      if (key.startsWith(prefix) && !stillFailing.has(key)) await resolve(key, `passed in attempt ${e.attemptId}`);
  }

  private scheduleHealth(delayMs: number): void {
    if (this.healthDue || !this.daemon) return;
    this.healthDue = setTimeout(() => {
      this.healthDue = undefined;
      if (this.healthRunning) return;
      this.healthAt = Date.now();
      this.healthRunning = this.health()
        .catch((err) => this.opts.log.warn({ err }, 'health check failed'))
        .finally(() => (this.healthRunning = undefined));
    }, delayMs);
    this.healthDue.unref();
  }

  /** Lag per analyzer (metrics, and alerts past a threshold) and failed warehouse loads. */
  private async health(): Promise<void> {
    const lag = new Map<string, number>();
    for (const a of this.project.analyzers.values()) {
      const l = await analyzerLag(this.project, this.store, a);
      lag.set(a.name, l.seconds);
      const threshold = a.lagAlertSeconds ?? this.project.config.alerts.lagSeconds;
      if (threshold === undefined) continue;
      if (l.seconds > threshold) {
        await this.alerter.raise({
          kind: 'lag',
          severity: l.seconds > 2 * threshold ? 'critical' : 'warning',
          key: `lag:${a.name}`,
          analyzer: a.name,
          title: `${a.name}: ${Math.round(l.seconds / 60)} min behind its input (threshold ${Math.round(threshold / 60)} min)`,
          detail: `newest ready input partition ${l.newestReady ?? '-'}, newest published ${l.newestPublished ?? '-'}`,
        });
      } else {
        await this.alerter.resolve(`lag:${a.name}`, `caught up to ${Math.round(l.seconds)} s behind`);
      }
    }
    this.lag = lag;
    const failed = await this.store.observe.reads.failedLoads();
    const failedKeys = new Set<string>();
    for (const f of failed) {
      const key = `load:${f.analyzer}/${f.partitionId}`;
      failedKeys.add(key);
      await this.alerter.raise({
        kind: 'load_failed',
        severity: 'critical',
        key,
        analyzer: f.analyzer,
        partition: f.partitionId,
        title: `${f.analyzer} ${f.partitionId}: warehouse load of v${f.versionSeq} failed [${f.errorCode ?? 'error'}]`,
        detail: f.errorMessage ?? undefined,
      });
    }
    await this.alerter.resolveWhere('load:', 'no failed load left', (a) => failedKeys.has(a.key));
  }
}
