import type { Command } from 'commander';
import { loadProject } from '../../config/load.ts';
import { openStateStore } from '../../state/open.ts';
import { Daemon } from '../../scheduler/daemon.ts';
import { createLogger } from '../../observe/log.ts';
import { action, positiveInt } from '../command.ts';

/** `recount serve`: run until stopped, triggering analyzers as their inputs become ready. */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run as a daemon: watch inputs, queue runs, run them in worker processes with retries')
    .option('--min-workers <n>', 'worker processes kept even when idle', positiveInt('--min-workers'))
    .option('--max-workers <n>', 'most worker processes at once', positiveInt('--max-workers'))
    .option('--scan-interval <ms>', 'periodic rescan of every dataset, in ms', positiveInt('--scan-interval'))
    .option('--drain-timeout <ms>', 'on SIGTERM, how long running attempts may finish before they are abandoned', positiveInt('--drain-timeout'), 30_000)
    .option('--until-idle', 'exit once nothing is queued or running (catch up, then stop)')
    .option('--no-watch', 'do not watch files; rely on the periodic rescan')
    .action(
      action(async (_out, g, opts: { minWorkers?: number; maxWorkers?: number; scanInterval?: number; drainTimeout: number; untilIdle?: boolean; watch: boolean }) => {
        const project = await loadProject(g.project);
        const store = await openStateStore(project.stateUrl, project.dir);
        const log = createLogger({ pretty: g.json ? false : undefined });
        const serve = project.config.serve;
        const maxWorkers = opts.maxWorkers ?? serve.maxWorkers;
        const daemon = new Daemon(project, store, {
          minWorkers: Math.min(opts.minWorkers ?? serve.minWorkers, maxWorkers),
          maxWorkers,
          scanIntervalMs: opts.scanInterval ?? serve.scanIntervalMs,
          watch: opts.watch,
          log,
        });
        let stopping: Promise<void> | undefined;
        const stop = (signal: string) => {
          log.info({ signal }, 'stopping: draining running attempts');
          stopping ??= daemon.stop(opts.drainTimeout);
          return stopping;
        };
        let done!: () => void;
        const finished = new Promise<void>((resolve) => (done = resolve));
        process.once('SIGTERM', () => void stop('SIGTERM').then(done));
        process.once('SIGINT', () => void stop('SIGINT').then(done));
        await daemon.start();
        if (opts.untilIdle) {
          const check = setInterval(async () => {
            if (daemon.runningCount === 0 && (await store.queue.backlog()) === 0) {
              clearInterval(check);
              await stop('idle');
              done();
            }
          }, 500);
        }
        await finished;
        await store.close();
        log.flush?.();
        return 0;
      }),
    );
}
