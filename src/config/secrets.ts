// A password written into a URL by hand is often not percent-encoded (`postgres://rc:a/b#c@host/db`), so the
// userinfo runs to the URL's last '@', not to the first '/', '?' or '#': masking must not stop early there.
const USERINFO_PASSWORD = /^([a-z][a-z0-9+.-]*:\/\/[^:/?#@]*):(.*)@(?=[^@]*$)/is;
const QUERY_PASSWORD = /([?&]password=)([^&#]*)/gi;

/** A connection URL with its password replaced by ***, for messages, logs and the state store. */
export function maskUrl(url: string): string {
  return url.replace(USERINFO_PASSWORD, '$1:***@').replace(QUERY_PASSWORD, '$1***');
}

/** The passwords a URL holds (raw and decoded), to redact from any text that may quote them. */
export function passwordsOf(url: string): string[] {
  const raw: string[] = [];
  const m = USERINFO_PASSWORD.exec(url);
  if (m?.[2]) raw.push(m[2]);
  for (const q of url.matchAll(QUERY_PASSWORD)) if (q[2]) raw.push(q[2]);
  const out: string[] = [];
  for (const r of raw) {
    out.push(r);
    try {
      out.push(decodeURIComponent(r));
    } catch {
      // a malformed escape: the raw form is redacted already
    }
  }
  return [...new Set(out)];
}
