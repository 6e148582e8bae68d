import { resolve } from 'node:path';
import { OutputLayout } from '../commit/paths.ts';
import { ownerAlive } from '../commit/liveness.ts';
import { recover, type RecoveryOptions } from '../commit/recovery.ts';
import { deadAttemptStopper } from '../engine/deadAttempts.ts';
import { parseSize } from '../config/size.ts';
import type { Analyzer, Project } from '../config/project.ts';
import type { Logger } from '../log.ts';
import { currentProcToken, HOST } from '../process/identity.ts';
import type { QueueOwner } from '../state/queueStore.ts';
import type { StateStore } from '../state/store.ts';
import { WorkerPool } from '../worker/pool.ts';
import type { DaemonOptions, DaemonShared, DaemonSummary } from './daemonShared.ts';
import { Discoverer } from './discoverer.ts';
import { Dispatcher } from './dispatcher.ts';
import { LoadRetrier } from './loadRetrier.ts';
import { WarehouseWriter } from './warehouseWriter.ts';

export type { AttemptEvent, DaemonOptions } from './daemonShared.ts';

/** How often the dispatcher claims due runs between the events that kick it. */
const TICK_MS = 250;

/**
 * `recount serve`: starts and stops its roles on one loop. Discovery (start-up scan, watcher, rescans, cron) queues
 * runs in the state store; the dispatcher claims them into a pool of worker processes and settles their outcomes;
 * the load retrier loads what the warehouse is owed. The daemon owns what they share: the queue lease (`owner`),
 * what runs now, and recovery.
 */
export class Daemon implements DaemonShared {
  readonly owner: QueueOwner = { host: HOST, token: currentProcToken() };
  readonly pool: WorkerPool;
  readonly layout: OutputLayout;
  readonly running = new Map<number, Promise<void>>();
  readonly runningKeys = new Set<string>();
  readonly loadJobs = new Map<string, Promise<void>>();
  readonly writer: WarehouseWriter;
  /** What this daemon did since it started: `serve --until-idle` reports it and exits 1 when runs failed for good. */
  readonly summary: DaemonSummary = { succeeded: 0, failedForGood: [] };
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly discoverer: Discoverer;
  private readonly dispatcher: Dispatcher;
  private readonly loadRetrier: LoadRetrier;
  private isStopping = false;
  private readonly recoveryOptions: RecoveryOptions;

  constructor(
    readonly project: Project,
    readonly store: StateStore,
    readonly opts: DaemonOptions,
  ) {
    this.layout = new OutputLayout(project.outputRoot);
    this.writer = new WarehouseWriter(project, store, opts.log);
    this.recoveryOptions = {
      spillDir: project.spillDir,
      stopDeadAttempts: deadAttemptStopper(project.analyzers, (m) => opts.log.warn(m)),
    };
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
    this.discoverer = new Discoverer(this);
    this.dispatcher = new Dispatcher(this, (a, p) => this.discoverer.scanAffected(a.name, p));
    this.loadRetrier = new LoadRetrier(this);
  }

  /** True once `stop()` began. */
  get stopping(): boolean {
    return this.isStopping;
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
    const quiet = () => this.running.size === 0 && this.loadJobs.size === 0 && !this.dispatcher.busy;
    if (!quiet()) return false;
    return (await this.store.queue.list(['queued', 'running'])).length === 0 && quiet();
  }

  /** Recover, requeue what a dead daemon held, scan, then watch, rescan and dispatch until stopped. */
  async start(): Promise<void> {
    const rec = await recover(this.store, this.layout, this.recoveryOptions);
    const requeued = await this.store.queue.requeueOrphans((host, token) => ownerAlive(this.store, host, token));
    this.opts.log.info(
      { recovered: rec.rolledForward.length, crashedAttempts: rec.crashedAttempts.length, requeued },
      'daemon started',
    );
    this.discoverer.reportStart();
    await this.discoverer.scan();
    if (this.opts.watch !== false) this.discoverer.startWatching();
    // The rescan also recovers: an orphan worker of a daemon that crashed may die after this daemon started.
    this.timers.push(setInterval(() => void this.rescan(), this.opts.scanIntervalMs));
    this.timers.push(setInterval(() => void this.tick(), TICK_MS));
    this.discoverer.startSchedules();
    void this.tick().then(() => this.retryLoads());
  }

  /** The periodic rescan: recover, watch roots that appeared, queue what is stale, dispatch, retry loads. */
  private rescan(): Promise<void> {
    return recover(this.store, this.layout, this.recoveryOptions)
      .catch((err) => this.opts.log.warn({ err }, 'recovery failed'))
      .then(() => this.discoverer.watchNewRoots())
      .then(() => this.discoverer.scan())
      .then(() => this.tick())
      .then(() => this.retryLoads());
  }

  loadPublished(
    analyzer: Analyzer,
    partition: string,
    version: number,
    fileSha256?: Readonly<Record<string, string>>,
  ): void {
    this.loadRetrier.loadPublished(analyzer, partition, version, fileSha256);
  }

  workerLoads(): number {
    let n = 0;
    for (const key of this.loadJobs.keys()) if (!this.writer.has(key)) n++;
    return n;
  }

  /** Claim due runs into free slots. */
  tick(): Promise<void> {
    return this.dispatcher.tick();
  }

  /** Load what the warehouse is owed, in workers (see LoadRetrier). */
  retryLoads(): Promise<void> {
    return this.loadRetrier.retryLoads();
  }

  /**
   * Recover after an attempt, or log why it could not: a failing recovery (a folder it may not read, the state store
   * gone for a moment) must not become an unhandled rejection that kills the daemon; the rescan recovers again.
   */
  async recoverOrWarn(log: Logger): Promise<void> {
    try {
      await recover(this.store, this.layout, this.recoveryOptions);
    } catch (err) {
      log.warn({ err }, 'recovery failed; the next rescan retries it');
    }
  }

  /**
   * Drain: take no new attempts, let running ones finish for up to `timeoutMs`, then kill the rest;
   * their queue items go back to the queue and their attempts are recorded as crashed by recovery.
   */
  async stop(timeoutMs = 30_000): Promise<void> {
    this.isStopping = true;
    for (const t of this.timers) clearInterval(t);
    await this.discoverer.stop();
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
    await this.discoverer.settled();
    await this.writer.close();
    await this.recoverOrWarn(this.opts.log);
    this.opts.log.info({ abandoned: timedOut }, 'daemon stopped');
  }
}
