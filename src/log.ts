import pino, { type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * recount's structured logger: JSON lines by default (for log shippers), pretty on a terminal.
 * Every line of an attempt carries analyzer, partition and attempt ids through child loggers.
 */
export function createLogger(
  opts: { pretty?: boolean; level?: string; destination?: NodeJS.WritableStream } = {},
): Logger {
  const level = opts.level ?? process.env.RECOUNT_LOG_LEVEL ?? 'info';
  const pretty = opts.pretty ?? (Boolean(process.stderr.isTTY) && process.env.RECOUNT_LOG_FORMAT !== 'json');
  if (pretty && !opts.destination) {
    return pino(
      { level, base: undefined },
      pino.transport({
        target: 'pino-pretty',
        options: { destination: 2, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' },
      }),
    );
  }
  return pino(
    { level, base: { pid: process.pid } },
    (opts.destination as pino.DestinationStream | undefined) ?? pino.destination(2),
  );
}
