import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Partition } from '../../catalog/partition.ts';
import type { CheckResult } from '../../checks/check.ts';
import { OutputLayout } from '../../commit/paths.ts';
import type { Analyzer } from '../../config/project.ts';
import type { Engine } from '../../engine/engine.ts';
import { engineFor } from '../../engine/select.ts';
import { attemptThreads } from '../attemptThreads.ts';
import { planMemory } from '../budget.ts';
import type { RunContext, RunOptions } from './types.ts';

/**
 * One attempt of one analyzer on one partition: who it is, where it writes, and what it gathered so far (warnings,
 * timings, check results), which the phases add to and the attempt's outcome reports.
 */
export interface Attempt {
  readonly ctx: RunContext;
  readonly analyzer: Analyzer;
  readonly partition: Partition;
  readonly opts: RunOptions;
  readonly engine: Engine;
  readonly layout: OutputLayout;
  readonly id: string;
  readonly stagingDir: string;
  readonly spillDir: string;
  readonly threads: number;
  readonly memoryBytes: number;
  /** Spark settings adapted after out-of-memory attempts of the partition (src/run/sparkRetry.ts); none otherwise. */
  readonly sparkConf?: Record<string, string>;
  /** When the attempt started (ms since the epoch). */
  readonly started: number;
  readonly warnings: string[];
  readonly timings: Record<string, number>;
  checks: CheckResult[];
  /** Set once the attempt tries to claim its publish: from then on its staging is the publish's, not its own to remove. */
  claimed: boolean;
}

/** A new attempt id: sortable by time, unique across processes and machines. */
export function newAttemptId(): string {
  return `${Date.now().toString(36)}-${randomBytes(5).toString('hex')}`;
}

/** Name an attempt and decide its folders, threads and memory; nothing is recorded or created yet. */
export function planAttempt(ctx: RunContext, analyzer: Analyzer, partition: Partition, opts: RunOptions): Attempt {
  const started = Date.now();
  const layout = new OutputLayout(ctx.project.outputRoot);
  const id = opts.attemptId ?? newAttemptId();
  const engine = engineFor(analyzer, ctx.engine);
  const threads =
    engine.name === 'duckdb'
      ? attemptThreads(ctx.project, analyzer, partition, opts)
      : (opts.threads ?? analyzer.threadCount);
  return {
    ctx,
    analyzer,
    partition,
    opts,
    engine,
    layout,
    id,
    stagingDir: layout.stagingDir(id),
    spillDir: join(ctx.project.spillDir, id),
    threads,
    // Without an explicit DuckDB limit, DuckDB gets its share of the analyzer's whole budget (src/run/budget.ts).
    memoryBytes: opts.memoryBytes ?? planMemory(analyzer.memoryBytes, threads).duckdbBytes,
    started,
    warnings: [],
    timings: {},
    checks: [],
    claimed: false,
  };
}

/** Times the phases of an attempt one after another: each lap is the time since the previous one. */
export class Stopwatch {
  private last = Date.now();

  constructor(private readonly timings: Record<string, number>) {}

  /** Record the time since the previous lap (or the start) under `name`. */
  lap(name: string): void {
    this.timings[name] = Date.now() - this.last;
    this.last = Date.now();
  }
}

// Cleanup must never replace the attempt's own error: under an unusable output root (a path beneath a
// regular file) rmSync throws ENOTDIR, which `force` does not ignore, and the user would see that instead.
/** Remove a folder the attempt made, ignoring any failure. */
export function removeQuietly(path: string): void {
  try {
    rmSync(path, { recursive: true, force: true });
  } catch {
    // nothing was created there, or recovery removes it on the next start
  }
}
