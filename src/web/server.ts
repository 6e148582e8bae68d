import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parsePartition } from '../catalog/partition.ts';
import { asRecountError, RecountError } from '../errors.ts';
import type { Logger } from '../observe/log.ts';
import { ACTIONS } from './actions.ts';
import { Access, cookies, isLoopback, SESSION_COOKIE } from './auth.ts';
import type { DashboardContext, PageContext } from './context.ts';
import { escapeHtml } from './html.ts';
import { alertsPage } from './pages/alerts.ts';
import { analyzerPage } from './pages/analyzer.ts';
import { overviewPage } from './pages/overview.ts';
import { partitionPage } from './pages/partition.ts';

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

const MAX_FORM_BYTES = 64 * 1024;

// A partition-grid favicon: four cells, three green, one red.
const FAVICON =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="7" height="7" fill="#2f9e62"/><rect x="9" width="7" height="7" fill="#2f9e62"/><rect y="9" width="7" height="7" fill="#2f9e62"/><rect x="9" y="9" width="7" height="7" fill="#d9414e"/></svg>';

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
  const access = new Access(opts.token || undefined);
  const flashes = new Map<string, PageContext['flash']>();
  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      opts.log.error({ err, url: req.url }, 'dashboard request failed');
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error; see the daemon log');
      else res.end();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://dashboard');
    const queryToken = url.searchParams.get('token');
    if (!access.allowed(req, queryToken)) {
      if (access.protected) {
        res.setHeader('WWW-Authenticate', 'Bearer realm="recount"');
        send(
          res,
          401,
          'text/plain; charset=utf-8',
          'recount: a token is required. Send "Authorization: Bearer <token>", or open the dashboard once with ?token=<token>.\n',
        );
      } else {
        send(
          res,
          403,
          'text/plain; charset=utf-8',
          'recount: this dashboard answers only to a loopback Host (127.0.0.1, localhost).\n',
        );
      }
      return;
    }
    if (queryToken !== null && access.protected) {
      // Keep the token out of the address bar, history and logs: store it in a cookie and drop it from the URL.
      url.searchParams.delete('token');
      res.setHeader('Set-Cookie', access.tokenCookie());
      redirect(res, url.pathname + (url.search || ''));
      return;
    }
    let session = cookies(req)[SESSION_COOKIE];
    if (!session) {
      const s = access.newSession();
      session = s.id;
      res.appendHeader('Set-Cookie', s.cookie);
    }
    const path = url.pathname.replace(/\/+$/, '') || '/';

    if (req.method === 'POST') {
      const action = ACTIONS[path];
      if (!action) return send(res, 404, 'text/plain; charset=utf-8', 'no such action\n');
      const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
      if (type !== 'application/x-www-form-urlencoded')
        return send(res, 415, 'text/plain; charset=utf-8', 'actions take a form (application/x-www-form-urlencoded)\n');
      const body = await readBody(req);
      if (body === undefined) return send(res, 413, 'text/plain; charset=utf-8', 'form too large\n');
      const form = new URLSearchParams(body);
      const problem = access.crossSiteProblem(req, form.get('_csrf') ?? undefined);
      if (problem) {
        opts.log.warn({ path, problem }, 'dashboard action refused as cross-site');
        return send(
          res,
          403,
          'text/plain; charset=utf-8',
          `recount: action refused (${problem}); use the buttons on the dashboard's own pages\n`,
        );
      }
      let location = '/';
      try {
        const r = await action(ctx, form);
        location = r.location;
        if (flashes.size > 1000) flashes.clear();
        flashes.set(session, { kind: r.ok ? 'ok' : 'error', text: r.text });
        opts.log.info(
          {
            action: path,
            analyzer: form.get('analyzer') ?? undefined,
            partition: form.get('partition') ?? undefined,
            ok: r.ok,
          },
          r.text,
        );
      } catch (err) {
        const e = asRecountError(err);
        const a = form.get('analyzer');
        const p = form.get('partition');
        location =
          a && p
            ? `/analyzers/${encodeURIComponent(a)}/partitions/${encodeURIComponent(p)}`
            : a
              ? `/analyzers/${encodeURIComponent(a)}`
              : '/';
        flashes.set(session, { kind: 'error', text: `${e.message}${e.hint ? ` — ${e.hint}` : ''}` });
      }
      redirect(res, location);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');

    if (path === '/metrics') {
      if (!ctx.metrics) return send(res, 404, 'text/plain; charset=utf-8', 'no metrics here\n');
      return send(res, 200, ctx.metrics.contentType, await ctx.metrics.render());
    }
    if (path === '/healthz') return send(res, 200, 'text/plain; charset=utf-8', 'ok\n');
    if (path === '/favicon.ico') return send(res, 200, 'image/svg+xml', FAVICON);

    const nonce = randomBytes(16).toString('base64');
    const flash = flashes.get(session);
    flashes.delete(session);
    const counts = await ctx.store.observe.alerts.openCounts();
    const pc: PageContext = {
      nonce,
      csrf: access.csrfFor(session),
      flash,
      openAlerts: counts.reduce((s, c) => s + c.n, 0),
      critical: counts.some((c) => c.severity === 'critical'),
    };
    const page = await route(path, url, pc);
    if (page === undefined) return sendPage(res, 404, notFound(path), nonce);
    sendPage(res, 200, page, nonce);
  }

  async function route(path: string, url: URL, pc: PageContext): Promise<string | undefined> {
    if (path === '/') return overviewPage(ctx, pc);
    if (path === '/alerts') {
      const status = url.searchParams.get('status');
      const page = Number(url.searchParams.get('page') ?? 1);
      return alertsPage(ctx, pc, {
        status: status === 'all' ? undefined : status === 'resolved' ? 'resolved' : 'open',
        analyzer: url.searchParams.get('analyzer') ?? undefined,
        kind: url.searchParams.get('kind') ?? undefined,
        page: Number.isInteger(page) && page > 0 ? page : 1,
      });
    }
    const m = /^\/analyzers\/([^/]+)(?:\/partitions\/([^/]+))?$/.exec(path);
    if (!m) return undefined;
    const a = ctx.project.analyzers.get(decodeURIComponent(m[1]!));
    if (!a) return undefined;
    if (!m[2]) return analyzerPage(ctx, pc, a);
    try {
      return await partitionPage(ctx, pc, a, parsePartition(decodeURIComponent(m[2]), a.grain));
    } catch (err) {
      if (err instanceof RecountError && err.code === 'PARTITION_INVALID') return undefined;
      throw err;
    }
  }

  await new Promise<void>((resolve, reject) => {
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

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, {
    'Content-Type': type,
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'same-origin',
  });
  res.end(body);
}

function sendPage(res: ServerResponse, status: number, body: string, nonce: string): void {
  res.writeHead(status, {
    'Content-Type': 'text/html; charset=utf-8',
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'same-origin',
    'X-Frame-Options': 'DENY',
    'Content-Security-Policy': `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
  });
  res.end(body);
}

function redirect(res: ServerResponse, location: string): void {
  res.writeHead(303, { Location: location, 'Cache-Control': 'no-store' });
  res.end();
}

function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_FORM_BYTES) {
        resolve(undefined);
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function notFound(path: string): string {
  return `<!doctype html><meta charset="utf-8"><title>not found · recount</title><body style="font:14px system-ui;padding:40px"><h1>Not found</h1><p>${escapeHtml(path)} is not a page of this dashboard (an unknown analyzer or a malformed partition id?).</p><p><a href="/">Back to the analyzers</a></p></body>`;
}
