import { isAbsolute, resolve } from 'node:path';
import { RecountError } from '../errors.ts';
import { maskUrl, passwordsOf } from '../config/secrets.ts';

export { maskUrl, passwordsOf };

/** Where the warehouse is: an embedded DuckDB file, or a PostgreSQL database. */
export type WarehouseLocation =
  | { readonly kind: 'duckdb'; readonly path: string; readonly display: string }
  | {
      readonly kind: 'postgres';
      readonly connectionString: string;
      readonly display: string;
      readonly secrets: readonly string[];
    };

/** Replace every occurrence of the given secrets (and their URL-encoded forms) in a text by ***. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) {
    if (s.length < 2) continue;
    for (const form of new Set([s, encodeURIComponent(s)])) out = out.split(form).join('***');
  }
  return out;
}

/**
 * Parse a warehouse URL: `duckdb:<file>` (relative to the project) or `postgres://user:password@host:port/db`
 * (also `postgresql://`). The password never leaves this function except inside the connection string.
 */
export function parseWarehouseUrl(url: string, projectDir: string): WarehouseLocation {
  const display = maskUrl(url);
  if (url.startsWith('duckdb:')) {
    const path = url.slice('duckdb:'.length);
    if (!path) {
      throw new RecountError('CONFIG_INVALID', `warehouse: '${display}' names no file`, {
        subject: 'warehouse',
        hint: "write duckdb:<file>, e.g. 'duckdb:.recount/warehouse.duckdb'",
      });
    }
    const abs = isAbsolute(path) ? path : resolve(projectDir, path);
    return { kind: 'duckdb', path: abs, display: `duckdb:${abs}` };
  }
  if (/^postgres(ql)?:\/\//i.test(url)) {
    try {
      new URL(url);
    } catch {
      throw new RecountError('CONFIG_INVALID', `warehouse: '${display}' is not a valid PostgreSQL URL`, {
        subject: 'warehouse',
        hint: 'write postgres://user:password@host:5432/database (percent-encode special characters in the password)',
      });
    }
    return { kind: 'postgres', connectionString: url, display, secrets: passwordsOf(url) };
  }
  throw new RecountError('CONFIG_INVALID', `warehouse: unsupported warehouse '${display}'`, {
    subject: 'warehouse',
    hint: "use 'duckdb:<file>' (the default is duckdb:.recount/warehouse.duckdb) or postgres://user:password@host:5432/database, in recount.config.ts or RECOUNT_WAREHOUSE",
  });
}

/** A copy of an error with every secret of the URL masked in its message, subject and hint. */
export function redactError(err: RecountError, url: string): RecountError {
  const secrets = passwordsOf(url);
  if (!secrets.length) return err;
  const r = (t: string | undefined) => (t === undefined ? undefined : redact(t, secrets));
  return new RecountError(err.code, r(err.message)!, {
    subject: r(err.subject),
    hint: r(err.hint),
    details: err.details,
    cause: err.cause,
  });
}
