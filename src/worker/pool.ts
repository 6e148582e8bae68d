import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { packagePath } from '../paths.ts';
import { SNAPSHOT_HEADROOM, WORKER_JEMALLOC_CONF, type MemoryPlan } from '../run/budget.ts';
import type { ExecutorMemorySample } from '../engine/engine.ts';
import type { AttemptReport, FromWorker, ToWorker } from './protocol.ts';
import { readRss } from './rss.ts';

const WORKER_ENTRY = packagePath('bin/worker.js');

/** What happened to an attempt handed to a worker. */
export type WorkerOutcome =
  | { kind: 'report'; report: AttemptReport; peakRssBytes: number }
  /** Killed for memory: by the RSS watchdog past the budget, or V8 ran out of heap. */
  | { kind: 'oom'; reason: 'rss' | 'v8-heap'; peakRssBytes: number; budgetBytes: number }
  /** The process died for another reason (killed from outside, crashed). */
  | { kind: 'crashed'; code: number | null; signal: NodeJS.Signals | null; stderr: string; peakRssBytes: number };

/** A memory sample of one worker. */
export interface WorkerMemorySample {
  readonly pid: number;
  readonly rss: number;
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly external: number;
  readonly arrayBuffers: number;
  /** DuckDB's own memory and spill of the running attempt (0 between attempts). */
  readonly duckdbBytes?: number;
  readonly spillBytes?: number;
  /** Remote executors' memory of a Spark attempt (absent otherwise). */
  readonly executors?: readonly ExecutorMemorySample[];
  /** The attempt the worker is running (its analyzer, partition and memory budget), if any. */
  readonly attemptId?: string;
  readonly analyzer?: string;
  readonly partition?: string;
  readonly budgetBytes?: number;
}

/** Pool settings. */
export interface WorkerPoolOptions {
  readonly projectDir: string;
  /** A worker is replaced after this many attempts. */
  readonly maxAttemptsPerWorker: number;
  /** A worker whose RSS after an attempt is above this is replaced (its memory did not come back). */
  readonly maxIdleRssBytes: number;
  /** Where V8 writes a heap snapshot when a worker nears its heap limit. */
  readonly postmortemDir: string;
  /** RSS watchdog interval. */
  readonly watchdogMs?: number;
  readonly env?: NodeJS.ProcessEnv;
  readonly onMemory?: (s: WorkerMemorySample) => void;
  readonly onRecycle?: (pid: number, why: string) => void;
}

interface Worker {
  readonly child: ChildProcess;
  readonly heapMb: number;
  readonly ready: Promise<void>;
  attempts: number;
  busy: boolean;
  /** Last reported V8 heap use, to tell a heap nearly out from plain RSS growth. */
  heapUsed: number;
  stderrTail: string;
  exited: boolean;
  onExit?: (code: number | null, signal: NodeJS.Signals | null) => void;
  onReport?: (r: AttemptReport) => void;
  /** The attempt running now, so memory samples can be attributed to it. */
  current?: { attemptId: string; analyzer: string; partition: string; budgetBytes: number };
}

/**
 * Child processes that run attempts, never in the daemon's own process. Each attempt's memory budget is
 * enforced three ways: DuckDB's memory_limit (set by the worker from the plan), a V8 heap limit
 * (--max-old-space-size), and an RSS watchdog here that kills the worker past the budget.
 */
export class WorkerPool {
  private readonly workers = new Set<Worker>();

  constructor(private readonly opts: WorkerPoolOptions) {
    mkdirSync(opts.postmortemDir, { recursive: true });
  }

  /** Number of live worker processes. */
  get size(): number {
    return this.workers.size;
  }

  /** Number of workers running an attempt now. */
  get busy(): number {
    return [...this.workers].filter((w) => w.busy).length;
  }

  /** pids of live workers. */
  pids(): number[] {
    return [...this.workers].map((w) => w.child.pid!).filter(Boolean);
  }

  private spawn(heapMb: number): Worker {
    const child = fork(WORKER_ENTRY, [this.opts.projectDir], {
      execArgv: [
        `--max-old-space-size=${heapMb}`,
        '--heapsnapshot-near-heap-limit=1',
        `--diagnostic-dir=${this.opts.postmortemDir}`,
      ],
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
      // An operator's own DUCKDB_JE_MALLOC_CONF wins over recount's default.
      env: { DUCKDB_JE_MALLOC_CONF: WORKER_JEMALLOC_CONF, ...process.env, ...this.opts.env },
    });
    let markReady!: () => void;
    const w: Worker = {
      child,
      heapMb,
      attempts: 0,
      busy: false,
      heapUsed: 0,
      stderrTail: '',
      exited: false,
      ready: new Promise((r) => (markReady = r)),
    };
    child.stderr!.on('data', (d: Buffer) => {
      process.stderr.write(d);
      w.stderrTail = (w.stderrTail + d.toString()).slice(-8192);
    });
    child.on('message', (m: FromWorker) => {
      if (m.type === 'ready') markReady();
      else if (m.type === 'result') w.onReport?.(m.report);
      else if (m.type === 'memory') {
        w.heapUsed = m.heapUsed;
        this.opts.onMemory?.({
          pid: child.pid!,
          rss: m.rss,
          heapUsed: m.heapUsed,
          heapTotal: m.heapTotal,
          external: m.external,
          arrayBuffers: m.arrayBuffers,
          duckdbBytes: m.duckdbBytes,
          spillBytes: m.spillBytes,
          ...(m.executors ? { executors: m.executors } : {}),
          ...w.current,
        });
      }
    });
    child.on('exit', (code, signal) => {
      w.exited = true;
      this.workers.delete(w);
      markReady();
      // 'exit' can come before the last of stderr is read: V8's "heap out of memory" (what tells an oom from a
      // crash) may still be in the pipe. Classify once stderr is closed, or after 2 s at most.
      let told = false;
      const tell = () => {
        if (told) return;
        told = true;
        w.onExit?.(code, signal);
      };
      const stderr = child.stderr!;
      if (stderr.closed || stderr.destroyed) return tell();
      setTimeout(tell, 2_000).unref();
      stderr.once('close', tell);
    });
    this.workers.add(w);
    return w;
  }

  private idleWorker(heapMb: number): Worker {
    for (const w of this.workers) if (!w.busy && !w.exited && w.heapMb === heapMb) return w;
    return this.spawn(heapMb);
  }

  /** Run one attempt in a worker under a memory plan; resolves with what happened, never rejects. */
  run(req: {
    attemptId: string;
    analyzer: string;
    partition: string;
    trigger: string;
    plan: MemoryPlan;
    fitThreads?: boolean;
    deferLoad?: boolean;
  }): Promise<WorkerOutcome> {
    const msg: ToWorker = {
      type: 'run',
      attemptId: req.attemptId,
      analyzer: req.analyzer,
      partition: req.partition,
      threads: req.plan.threads,
      ...(req.fitThreads ? { fitThreads: true } : {}),
      duckdbBytes: req.plan.duckdbBytes,
      trigger: req.trigger,
      ...(req.deferLoad ? { deferLoad: true } : {}),
    };
    return this.dispatch(req.plan, msg, {
      attemptId: req.attemptId,
      analyzer: req.analyzer,
      partition: req.partition,
      budgetBytes: req.plan.budgetBytes,
    });
  }

  /**
   * Load a published version into the warehouse in a worker, under the analyzer's memory plan (the same
   * watchdog); the report's attemptId is the job id. Resolves with what happened, never rejects.
   */
  load(req: {
    jobId: string;
    analyzer: string;
    partition: string;
    version: number;
    plan: MemoryPlan;
  }): Promise<WorkerOutcome> {
    return this.dispatch(req.plan, {
      type: 'load',
      jobId: req.jobId,
      analyzer: req.analyzer,
      partition: req.partition,
      version: req.version,
    });
  }

  private async dispatch(plan: MemoryPlan, msg: ToWorker, current?: Worker['current']): Promise<WorkerOutcome> {
    const w = this.idleWorker(plan.heapMb);
    w.busy = true;
    await w.ready;
    if (w.exited) {
      w.busy = false;
      return {
        kind: 'crashed',
        code: w.child.exitCode,
        signal: w.child.signalCode,
        stderr: w.stderrTail,
        peakRssBytes: 0,
      };
    }
    w.attempts++;
    w.current = current;
    const pid = w.child.pid!;
    let peak = 0;
    let killedForMemory = false;
    const outcome = await new Promise<WorkerOutcome>((resolve) => {
      const check = (): void => {
        const rss = readRss(pid);
        peak = Math.max(peak, rss);
        // Near its heap limit V8 is about to write the postmortem snapshot: let it, within a bounded headroom.
        const heapNearlyFull = w.heapUsed >= w.heapMb * 1024 * 1024 * 0.8;
        const limit = heapNearlyFull ? plan.budgetBytes + SNAPSHOT_HEADROOM * w.heapMb * 1024 * 1024 : plan.budgetBytes;
        if (rss > limit && !killedForMemory) {
          killedForMemory = true;
          w.child.kill('SIGKILL');
        }
      };
      const watchdog = setInterval(check, this.opts.watchdogMs ?? 100);
      const done = (o: WorkerOutcome) => {
        clearInterval(watchdog);
        w.onExit = undefined;
        w.onReport = undefined;
        resolve(o);
      };
      w.onReport = (report) => done({ kind: 'report', report, peakRssBytes: Math.max(peak, report.peakRssBytes) });
      w.onExit = (code, signal) => {
        if (killedForMemory) done({ kind: 'oom', reason: 'rss', peakRssBytes: peak, budgetBytes: plan.budgetBytes });
        else if (/heap out of memory|Reached heap limit/i.test(w.stderrTail))
          done({ kind: 'oom', reason: 'v8-heap', peakRssBytes: peak, budgetBytes: plan.budgetBytes });
        else done({ kind: 'crashed', code, signal, stderr: w.stderrTail.slice(-2000), peakRssBytes: peak });
      };
      // A worker already past the budget before the attempt starts (its own baseline) is stopped now: a small attempt
      // could otherwise finish inside the first watchdog interval, over its budget and unseen.
      check();
      if (!killedForMemory) w.child.send(msg);
    });
    w.busy = false;
    w.current = undefined;
    if (outcome.kind === 'report') this.maybeRecycle(w);
    return outcome;
  }

  private maybeRecycle(w: Worker): void {
    if (w.exited) return;
    const rss = readRss(w.child.pid!);
    const why =
      w.attempts >= this.opts.maxAttemptsPerWorker
        ? `reached ${w.attempts} attempts`
        : rss > this.opts.maxIdleRssBytes
          ? `idle RSS ${Math.round(rss / 1e6)} MB above the limit`
          : undefined;
    if (why) {
      this.opts.onRecycle?.(w.child.pid!, why);
      this.retire(w);
    }
  }

  private retire(w: Worker): void {
    this.workers.delete(w);
    if (w.exited) return;
    try {
      w.child.send({ type: 'stop' } satisfies ToWorker);
    } catch {
      w.child.kill('SIGKILL');
    }
    setTimeout(() => {
      if (!w.exited) w.child.kill('SIGKILL');
    }, 5000).unref();
  }

  /** Stop idle workers beyond `keep`. */
  trimIdle(keep: number): void {
    const idle = [...this.workers].filter((w) => !w.busy);
    for (const w of idle.slice(keep)) this.retire(w);
  }

  /** Stop every worker: idle ones at once, busy ones with SIGKILL (their attempts are recovered and requeued). */
  async shutdown(): Promise<void> {
    const all = [...this.workers];
    const exits = all.map((w) =>
      w.exited ? Promise.resolve() : new Promise<void>((r) => w.child.once('exit', () => r())),
    );
    for (const w of all) {
      if (w.busy) w.child.kill('SIGKILL');
      else this.retire(w);
    }
    await Promise.race([Promise.all(exits), new Promise((r) => setTimeout(r, 6000).unref())]);
  }
}
