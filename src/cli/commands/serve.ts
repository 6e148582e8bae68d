import type { Command } from 'commander';
import { loadProject } from '../../config/load.ts';
import type { Project } from '../../config/project.ts';
import { openStateStore } from '../../state/open.ts';
import type { StateStore } from '../../state/store.ts';
import { Daemon } from '../../scheduler/daemon.ts';
import { createLogger, type Logger } from '../../log.ts';
import { Observer } from '../../observe/observer.ts';
import { assertSafeBinding, startDashboard, type Dashboard } from '../../web/server.ts';
import { action, type GlobalOptions, positiveInt, wholeNumber } from '../command.ts';

/** Default port of the dashboard and /metrics. */
export const DEFAULT_PORT = 7878;

/** The options of `recount serve`. */
interface ServeOptions {
  minWorkers?: number;
  maxWorkers?: number;
  scanInterval?: number;
  drainTimeout: number;
  untilIdle?: boolean;
  watch: boolean;
  port?: number;
  host: string;
  token?: string;
  dashboard: boolean;
}

/** `recount serve`: run until stopped, triggering analyzers as their inputs become ready. */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run as a daemon: watch inputs, queue runs, run them in worker processes with retries')
    .option('--min-workers <n>', 'worker processes kept even when idle', positiveInt('--min-workers'))
    .option('--max-workers <n>', 'most worker processes at once', wholeNumber('--max-workers', 1))
    .option('--scan-interval <ms>', 'periodic rescan of every dataset, in ms', wholeNumber('--scan-interval', 1))
    .option(
      '--drain-timeout <ms>',
      'on SIGTERM, how long running attempts may finish before they are abandoned',
      positiveInt('--drain-timeout'),
      30_000,
    )
    .option('--until-idle', 'exit once nothing is queued or running (catch up, then stop)')
    .option('--no-watch', 'do not watch files; rely on the periodic rescan')
    .option(
      '--port <port>',
      `dashboard and /metrics port (0 picks a free one; default ${DEFAULT_PORT})`,
      positiveInt('--port'),
    )
    .option('--host <host>', 'address the dashboard listens on; beyond loopback it needs --token', '127.0.0.1')
    .option(
      '--token <token>',
      'every dashboard and /metrics request must carry it (Bearer header, or ?token= once in a browser); default $RECOUNT_TOKEN',
    )
    .option('--no-dashboard', 'serve no dashboard and no /metrics')
    .action(action(async (_out, g, opts: ServeOptions) => serve(g, opts)));
}

/** Run the daemon (and its dashboard) until SIGTERM, SIGINT or, with --until-idle, nothing is left to do. */
async function serve(g: GlobalOptions, opts: ServeOptions): Promise<number> {
  const token = opts.token ?? (process.env.RECOUNT_TOKEN || undefined);
  if (opts.dashboard) assertSafeBinding(opts.host, token);
  const project = await loadProject(g.project);
  const store = await openStateStore(project.stateUrl, project.dir);
  const log = createLogger({ pretty: g.json ? false : undefined });
  const { observer, daemon } = createDaemon(project, store, log, opts);
  let dashboard: Dashboard | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (signal: string) => {
    log.info({ signal }, 'stopping: draining running attempts');
    stopping ??= daemon
      .stop(opts.drainTimeout)
      .then(() => observer.stop())
      .then(() => dashboard?.close());
    return stopping;
  };
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  process.once('SIGTERM', () => void stop('SIGTERM').then(done));
  process.once('SIGINT', () => void stop('SIGINT').then(done));
  let started = false;
  if (opts.dashboard) {
    // The dashboard's "run now" kicks the daemon once it has started.
    const kick = () => void (started && daemon.tick().then(() => daemon.retryLoads()));
    dashboard = await startDashboardOrWarn(project, store, observer, kick, { ...opts, token }, log);
  }
  await daemon.start();
  started = true;
  observer.start(daemon);
  if (opts.untilIdle) stopWhenIdle(daemon, () => stop('idle').then(done));
  await finished;
  await store.close();
  const failed = daemon.summary.failedForGood;
  if (opts.untilIdle) logIdleSummary(log, daemon);
  log.flush?.();
  // Catching up (--until-idle) is a job: it fails when a run failed for good, as `recount backfill` does.
  return opts.untilIdle && failed.length ? 1 : 0;
}

/** The daemon and the observer that records its metrics, memory and alerts, with the project's serve settings. */
function createDaemon(project: Project, store: StateStore, log: Logger, opts: ServeOptions) {
  const serve = project.config.serve;
  const maxWorkers = opts.maxWorkers ?? serve.maxWorkers;
  const scanIntervalMs = opts.scanInterval ?? serve.scanIntervalMs;
  const observer = new Observer(project, store, {
    log,
    healthIntervalMs: Math.min(30_000, Math.max(2_000, scanIntervalMs)),
  });
  const daemon = new Daemon(project, store, {
    minWorkers: Math.min(opts.minWorkers ?? serve.minWorkers, maxWorkers),
    maxWorkers,
    scanIntervalMs,
    watch: opts.watch,
    log,
    ...observer.hooks,
  });
  return { observer, daemon };
}

/**
 * Start the dashboard and /metrics. The default port may be taken (a second daemon on this machine): then the
 * daemon runs without a dashboard rather than not at all; a port asked for with --port must be had.
 */
async function startDashboardOrWarn(
  project: Project,
  store: StateStore,
  observer: Observer,
  kick: () => void,
  opts: ServeOptions,
  log: Logger,
): Promise<Dashboard | undefined> {
  try {
    const dashboard = await startDashboard(
      { project, store, metrics: observer.metrics, alerter: observer.alerter, kick, lag: () => observer.lagSeconds },
      { host: opts.host, port: opts.port ?? DEFAULT_PORT, token: opts.token, log },
    );
    log.info(
      { url: dashboard.url, host: opts.host, port: dashboard.port, token: Boolean(opts.token) },
      `dashboard listening on ${dashboard.url} (metrics on ${dashboard.url}metrics)`,
    );
    return dashboard;
  } catch (err) {
    if (opts.port !== undefined) {
      await store.close();
      throw err;
    }
    log.warn(
      { err: (err as Error).message },
      'dashboard not started; the daemon runs without it (pass --port to choose a free port)',
    );
    return undefined;
  }
}

/** --until-idle: stop once nothing is queued or running. */
function stopWhenIdle(daemon: Daemon, stop: () => void): void {
  const check = setInterval(async () => {
    if (await daemon.isIdle()) {
      clearInterval(check);
      stop();
    }
  }, 500);
}

/** --until-idle: one line on what the catch-up did, an error when a run failed for good. */
function logIdleSummary(log: Logger, daemon: Daemon): void {
  const { succeeded, failedForGood: failed } = daemon.summary;
  const line = `idle: ${succeeded} attempt(s) succeeded, ${failed.length} run(s) failed for good${failed.length ? `: ${failed.slice(0, 10).join(', ')}${failed.length > 10 ? ` and ${failed.length - 10} more` : ''} (recount status shows why)` : ''}`;
  if (failed.length) log.error({ succeeded, failedForGood: failed.length }, line);
  else log.info({ succeeded, failedForGood: 0 }, line);
}
