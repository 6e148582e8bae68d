import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RecountError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { Access, isLoopback } from './auth.ts';
import type { DashboardContext } from './context.ts';
import { send, TEXT } from './http.ts';
import { handleRequest } from './router.ts';
import type { ServerState } from './serverState.ts';

/** Where the dashboard listens and who may use it. */
export interface DashboardOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** Required when `host` is not a loopback address; then every request must carry it. */
  readonly token?: string;
  readonly log: Logger;
}

/** A running dashboard. */
export interface Dashboard {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Refuse to expose the dashboard beyond this machine without a token. */
export function assertSafeBinding(host: string, token: string | undefined): void {
  if (!isLoopback(host) && !token) {
    throw new RecountError(
      'USAGE',
      `the dashboard would listen on ${host}, reachable from other machines, without a token`,
      {
        subject: '--host',
        hint: 'pass --token <secret> (or set RECOUNT_TOKEN) so every request must carry it, or keep the default --host 127.0.0.1',
      },
    );
  }
}

/**
 * The dashboard and /metrics over node:http: server-rendered pages, POST actions guarded against cross-site
 * requests, and a token on every request when one is set (required beyond loopback).
 */
export async function startDashboard(ctx: DashboardContext, opts: DashboardOptions): Promise<Dashboard> {
  assertSafeBinding(opts.host, opts.token);
  const state: ServerState = { ctx, access: new Access(opts.token || undefined), flashes: new Map(), log: opts.log };
  const server = createServer((req, res) => {
    handleRequest(state, req, res).catch((err) => {
      opts.log.error({ err, url: req.url }, 'dashboard request failed');
      if (!res.headersSent) send(res, 500, TEXT, 'internal error; see the daemon log');
      else res.end();
    });
  });
  await listen(server, opts);
  const port = (server.address() as AddressInfo).port;
  const shown = opts.host.includes(':') ? `[${opts.host}]` : opts.host === '0.0.0.0' ? '127.0.0.1' : opts.host;
  const url = `http://${shown}:${port}/`;
  return {
    url,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Listen on the configured host and port; a port in use or a bad host is a USAGE error naming the option. */
function listen(server: Server, opts: DashboardOptions): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new RecountError('USAGE', `the dashboard cannot listen on ${opts.host}:${opts.port}: the port is in use`, {
              subject: '--port',
              hint: 'pick another --port (0 picks a free one), or stop what holds it',
            })
          : new RecountError('USAGE', `the dashboard cannot listen on ${opts.host}:${opts.port}: ${err.message}`, {
              subject: '--host',
              hint: 'check --host and --port',
            }),
      ),
    );
    server.listen(opts.port, opts.host, () => resolve());
  });
}
