import type { IncomingMessage, ServerResponse } from 'node:http';

/** Largest form body an action accepts. */
const MAX_FORM_BYTES = 64 * 1024;

/** The content type of the dashboard's plain-text answers. */
export const TEXT = 'text/plain; charset=utf-8';

/** Answer with a body that is not a page (text, metrics, the favicon). */
export function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, {
    'Content-Type': type,
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'same-origin',
  });
  res.end(body);
}

/** Answer with an HTML page whose inline scripts carry `nonce` (the only scripts its Content-Security-Policy runs). */
export function sendPage(res: ServerResponse, status: number, body: string, nonce: string): void {
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

/** Send the browser to `location` with a GET (after an action, or to drop the token from the address). */
export function redirect(res: ServerResponse, location: string): void {
  res.writeHead(303, { Location: location, 'Cache-Control': 'no-store' });
  res.end();
}

/** The request body as text, or undefined when it is larger than a form may be (the request is then dropped). */
export function readFormBody(req: IncomingMessage): Promise<string | undefined> {
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
