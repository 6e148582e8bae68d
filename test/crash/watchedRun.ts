// A `recount run` child killed at an instant timed from its attempt's start, for the seeded random-kill tests
// (the same watching as test/crash/randomKill.test.ts, for any analyzer and partition).
import { existsSync, readdirSync } from 'node:fs';
import type { TestProject } from '../helpers/project.ts';
export { prng } from '../helpers/prng.ts';

/** How a watched run ended, and when its attempt's staging folder appeared (undefined if it never did). */
export interface WatchedRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
  readonly stagedAt?: number;
  readonly exitedAt: number;
}

/** When to SIGKILL a watched run: after it started, or after its attempt began (its staging folder appeared). */
export type KillAt = { readonly startupKillMs: number } | { readonly attemptKillMs: number };

/**
 * Start `recount run <analyzer> --partition <partition>`, note when its attempt began (its staging folder appearing
 * under `stagingRoot`), and SIGKILL it `startupKillMs` after it started or `attemptKillMs` after its attempt began,
 * if asked. Timed from the attempt itself, a kill lands inside it however long the process takes to start (which
 * the bundle and config caches made much shorter and more variable than the attempt).
 */
export function runWatched(
  tp: TestProject,
  run: { analyzer: string; partition: string; stagingRoot: string },
  when?: KillAt,
): Promise<WatchedRun> {
  return new Promise((resolve, reject) => {
    const child = tp.spawnCli(['run', run.analyzer, '--partition', run.partition]);
    let stderr = '';
    let stagedAt: number | undefined;
    child.stderr!.on('data', (d) => (stderr += d));
    const kill = () => child.kill('SIGKILL');
    const timers: NodeJS.Timeout[] = [];
    if (when && 'startupKillMs' in when) timers.push(setTimeout(kill, when.startupKillMs));
    const poll = setInterval(() => {
      if (stagedAt !== undefined || !existsSync(run.stagingRoot) || readdirSync(run.stagingRoot).length === 0) return;
      stagedAt = Date.now();
      if (when && 'attemptKillMs' in when) timers.push(setTimeout(kill, when.attemptKillMs));
    }, 2);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearInterval(poll);
      for (const t of timers) clearTimeout(t);
      resolve({ code, signal, stderr, stagedAt, exitedAt: Date.now() });
    });
  });
}
