import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PageContext } from './context.ts';
import { admitRequest } from './gate.ts';
import { send, sendPage, TEXT } from './http.ts';
import { handleAction } from './routes/actionRoute.ts';
import { FIXED_ROUTES } from './routes/fixedRoutes.ts';
import { notFoundPage, renderPage } from './routes/pageRoutes.ts';
import type { ServerState } from './serverState.ts';

/** Answer one dashboard request: access first, then a POST action, a fixed GET path, or a page. */
export async function handleRequest(state: ServerState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://dashboard');
  const session = admitRequest(state.access, req, res, url);
  if (session === undefined) return;
  const path = url.pathname.replace(/\/+$/, '') || '/';
  if (req.method === 'POST') return handleAction(state, req, res, path, session);
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, TEXT, 'method not allowed\n');
  const fixed = FIXED_ROUTES.get(path);
  if (fixed) return fixed(state.ctx, res);
  const pc = await pageContext(state, session);
  const page = await renderPage(state.ctx, pc, path, url);
  if (page === undefined) return sendPage(res, 404, notFoundPage(path), pc.nonce);
  sendPage(res, 200, page, pc.nonce);
}

/** What every page of this response needs: a script nonce, the session's CSRF token and flash, the alert badge. */
async function pageContext(state: ServerState, session: string): Promise<PageContext> {
  const nonce = randomBytes(16).toString('base64');
  const flash = state.flashes.get(session);
  state.flashes.delete(session);
  const counts = await state.ctx.store.observe.alerts.openCounts();
  return {
    nonce,
    csrf: state.access.csrfFor(session),
    flash,
    openAlerts: counts.reduce((s, c) => s + c.n, 0),
    critical: counts.some((c) => c.severity === 'critical'),
  };
}
