import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Access, cookies, SESSION_COOKIE } from './auth.ts';
import { redirect, send, TEXT } from './http.ts';

/**
 * Let a request in or answer it here: 401/403 without access, a redirect that moves a `?token=` into a cookie.
 * Returns the browser session of a request let in (a new one gets its cookie), undefined when answered.
 */
export function admitRequest(access: Access, req: IncomingMessage, res: ServerResponse, url: URL): string | undefined {
  const queryToken = url.searchParams.get('token');
  if (!access.allowed(req, queryToken)) {
    refuse(access, res);
    return undefined;
  }
  if (queryToken !== null && access.protected) {
    // Keep the token out of the address bar, history and logs: store it in a cookie and drop it from the URL.
    url.searchParams.delete('token');
    res.setHeader('Set-Cookie', access.tokenCookie());
    redirect(res, url.pathname + (url.search || ''));
    return undefined;
  }
  const session = cookies(req)[SESSION_COOKIE];
  if (session) return session;
  const created = access.newSession();
  res.appendHeader('Set-Cookie', created.cookie);
  return created.id;
}

function refuse(access: Access, res: ServerResponse): void {
  if (access.protected) {
    res.setHeader('WWW-Authenticate', 'Bearer realm="recount"');
    send(
      res,
      401,
      TEXT,
      'recount: a token is required. Send "Authorization: Bearer <token>", or open the dashboard once with ?token=<token>.\n',
    );
  } else {
    send(res, 403, TEXT, 'recount: this dashboard answers only to a loopback Host (127.0.0.1, localhost).\n');
  }
}
