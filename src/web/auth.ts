import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost', '::ffff:127.0.0.1']);

/** True for addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return LOOPBACK.has(h) || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/** The cookie that carries the token in a browser. */
export const TOKEN_COOKIE = 'recount_token';
/** The cookie that names a browser session (CSRF tokens are bound to it). */
export const SESSION_COOKIE = 'recount_session';

/** Parse a Cookie header. */
export function cookies(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i).trim()] = decodeURIComponent(part.slice(i + 1).trim());
  }
  return out;
}

function same(a: string, b: string): boolean {
  // Hash both so the comparison takes the same time whatever the lengths.
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

/**
 * Who may use the dashboard. With a token, every request must carry it: `Authorization: Bearer <token>`
 * (Prometheus, curl) or the cookie a browser gets by opening any page once with `?token=<token>`.
 * Without a token (loopback only), the Host header must name a loopback address, so a web page on another
 * site cannot reach the dashboard through DNS rebinding.
 */
export class Access {
  /** Signs CSRF tokens: one per session, valid only with that session's cookie. */
  private readonly secret = randomBytes(32);

  constructor(private readonly token: string | undefined) {}

  /** Whether a token is required. */
  get protected(): boolean {
    return this.token !== undefined;
  }

  /** Check a request's credentials (`queryToken` is the `?token=` value, if any). */
  allowed(req: IncomingMessage, queryToken: string | null): boolean {
    if (this.token === undefined) {
      const host = (req.headers.host ?? '').replace(/:\d+$/, '');
      return isLoopback(host);
    }
    const auth = req.headers.authorization ?? '';
    if (auth.startsWith('Bearer ') && same(auth.slice(7).trim(), this.token)) return true;
    const c = cookies(req)[TOKEN_COOKIE];
    if (c !== undefined && same(c, this.token)) return true;
    return queryToken !== null && same(queryToken, this.token);
  }

  /** The cookie that stores the token in a browser after a `?token=` visit. */
  tokenCookie(): string {
    return `${TOKEN_COOKIE}=${encodeURIComponent(this.token ?? '')}; HttpOnly; SameSite=Strict; Path=/`;
  }

  /** A new session id and its cookie. */
  newSession(): { id: string; cookie: string } {
    const id = randomBytes(18).toString('base64url');
    return { id, cookie: `${SESSION_COOKIE}=${id}; HttpOnly; SameSite=Strict; Path=/` };
  }

  /** The CSRF token forms of a session carry. */
  csrfFor(session: string): string {
    return createHmac('sha256', this.secret).update(session).digest('base64url');
  }

  /**
   * Whether a POST comes from the dashboard's own pages: the browser's Sec-Fetch-Site and Origin (when sent)
   * say same origin, and the form's CSRF token matches the session cookie. Returns why not, or undefined.
   */
  crossSiteProblem(req: IncomingMessage, csrf: string | undefined): string | undefined {
    const site = req.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin') return `Sec-Fetch-Site is '${site}'`;
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== 'null') {
      let host: string;
      try {
        host = new URL(origin).host;
      } catch {
        return `bad Origin '${origin}'`;
      }
      if (host !== req.headers.host) return `Origin ${origin} is not this dashboard`;
    } else if (origin === 'null') return 'Origin is null';
    const session = cookies(req)[SESSION_COOKIE];
    if (!session) return 'no session cookie';
    if (!csrf || !same(csrf, this.csrfFor(session))) return 'missing or wrong CSRF token';
    return undefined;
  }
}
