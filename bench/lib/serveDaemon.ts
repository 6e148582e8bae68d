import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { REPO_DIR } from './paths.ts';

/** One JSON log line of the daemon (pino: `time` in epoch ms, `msg`, and the fields it logged). */
export type LogLine = Record<string, any> & { time?: number; msg?: string };

/** A real `recount serve` child process, logging JSON lines that the bench can wait on. */
export interface ServeDaemon {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolve with the first log line (from now on, or already seen when `seen` is true) that matches. */
  waitForLog(what: string, match: (l: LogLine) => boolean, timeoutMs?: number, seen?: boolean): Promise<LogLine>;
  /** Lines kept by the `keep` option, in order. */
  kept(): LogLine[];
  /** Lines at levels warn and above seen so far (a bench prints them: a figure from a misbehaving daemon is no figure). */
  problems(): LogLine[];
  /** SIGTERM (drain) and wait for the exit code. */
  stop(): Promise<number | null>;
}

/** Environment for recount child processes: no fault injection, no colours, JSON logs. */
export function benchEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NO_COLOR: '1',
    FORCE_COLOR: '0',
    RECOUNT_LOG_FORMAT: 'json',
    ...extra,
  };
  for (const k of Object.keys(env)) if (k.startsWith('RECOUNT_FAULT')) delete env[k];
  return env;
}

/**
 * Start `node bin/recount.js --project <dir> serve <args>`, exactly as a user would, and follow its log.
 * Only the lines a bench can wait on and warnings are kept, so a long soak does not grow the bench's own memory.
 */
export function startServeDaemon(
  projectDir: string,
  args: string[],
  opts: { keep?: (l: LogLine) => boolean; env?: NodeJS.ProcessEnv } = {},
): ServeDaemon {
  const child = spawn(process.execPath, [join(REPO_DIR, 'bin/recount.js'), '--project', projectDir, 'serve', ...args], {
    env: benchEnv(opts.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = opts.keep ?? (() => false);
  const kept: LogLine[] = [];
  const bad: LogLine[] = [];
  let waiters: { match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];
  let buf = '';
  child.stderr!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const text = buf.slice(0, i);
      buf = buf.slice(i + 1);
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        line = { msg: text, level: 50, raw: true };
      }
      if ((line.level ?? 30) >= 40) bad.push(line);
      if (keep(line)) kept.push(line);
      const hit = waiters.filter((w) => w.match(line));
      if (hit.length > 0) {
        waiters = waiters.filter((w) => !hit.includes(w));
        for (const w of hit) w.resolve(line);
      }
    }
  });
  child.stdout!.resume();
  const exit = once(child, 'exit').then(([code]) => code as number | null);
  return {
    child,
    pid: child.pid!,
    waitForLog(what, match, timeoutMs = 120_000, seen = false) {
      const already = seen ? kept.find(match) : undefined;
      if (already) return Promise.resolve(already);
      return new Promise<LogLine>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters = waiters.filter((w) => w.resolve !== done);
          reject(
            new Error(
              `recount serve: timed out after ${timeoutMs} ms waiting for ${what}; last problems: ${JSON.stringify(bad.slice(-3))}`,
            ),
          );
        }, timeoutMs);
        const done = (l: LogLine) => {
          clearTimeout(timer);
          resolve(l);
        };
        waiters.push({ match, resolve: done });
        void exit.then((code) => {
          if (waiters.some((w) => w.resolve === done)) {
            clearTimeout(timer);
            reject(
              new Error(
                `recount serve exited (${code}) while the bench waited for ${what}; last problems: ${JSON.stringify(bad.slice(-3))}`,
              ),
            );
          }
        });
      });
    },
    kept: () => kept,
    problems: () => bad,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exit;
    },
  };
}
