// Spark's connection string for Spark Connect: sc://host[:port][/;key=value;...] (the same in PySpark, the Scala, Go
// and Rust clients, and Databricks Connect).
import { RecountError } from '../../../errors.ts';

/** Spark Connect's default port. */
export const DEFAULT_SPARK_CONNECT_PORT = 15002;

/** A parsed `sc://` connection string. */
export interface Remote {
  host: string;
  port: number;
  /** TLS: set by `use_ssl=true`, and implied by a `token`. */
  useSsl: boolean;
  /** Sent as `authorization: Bearer <token>` on every call (TLS only, as in Spark's own clients). */
  token?: string;
  /** The user id of the session's UserContext (`user_id=`), else the OS user. */
  userId?: string;
  /** Appended to the client type the server logs (`user_agent=`). */
  userAgent?: string;
  /** A fixed session id (`session_id=`, a UUID), to share a server-side session. */
  sessionId?: string;
  /** Any other `key=value` parameter: sent as gRPC metadata on every call (e.g. `x-databricks-cluster-id`). */
  headers: Record<string, string>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function invalid(remote: string, why: string): RecountError {
  return new RecountError('CONFIG_INVALID', `invalid Spark Connect address ${redactRemote(remote)}: ${why}`, {
    subject: 'engine.spark.remote',
    hint: 'write it as sc://host:port, with optional parameters after /; e.g. sc://spark.example.com:15002/;token=…;user_id=etl (engine.spark.remote in recount.config.ts or RECOUNT_SPARK_REMOTE)',
  });
}

/** Parses `sc://host[:port][/;k=v;...]`; throws a CONFIG_INVALID RecountError naming the setting on anything else. */
export function parseRemote(remote: string): Remote {
  const m = /^sc:\/\/(\[[^\]]+\]|[^:/;]+)(?::(\d+))?(\/.*)?$/.exec(remote.trim());
  if (!m) throw invalid(remote, 'expected sc://host[:port][/;key=value…]');
  const host = m[1]!.startsWith('[') ? m[1]!.slice(1, -1) : m[1]!;
  const port = m[2] === undefined ? DEFAULT_SPARK_CONNECT_PORT : Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw invalid(remote, `port ${m[2]} is out of range`);
  const out: Remote = { host, port, useSsl: false, headers: {} };
  const path = m[3] ?? '';
  if (path !== '' && path !== '/') {
    if (!path.startsWith('/;')) throw invalid(remote, 'parameters go after "/;" (a path is not allowed)');
    for (const part of path.slice(2).split(';')) {
      if (part === '') continue;
      const eq = part.indexOf('=');
      if (eq <= 0) throw invalid(remote, `parameter "${part.split('=')[0]}" has no value (write key=value)`);
      const key = decodeURIComponent(part.slice(0, eq));
      const value = decodeURIComponent(part.slice(eq + 1));
      switch (key) {
        case 'token':
          out.token = value;
          break;
        case 'use_ssl':
          if (value !== 'true' && value !== 'false')
            throw invalid(remote, `use_ssl must be true or false, not "${value}"`);
          out.useSsl = value === 'true';
          break;
        case 'user_id':
          out.userId = value;
          break;
        case 'user_agent':
          out.userAgent = value;
          break;
        case 'session_id':
          if (!UUID.test(value)) throw invalid(remote, 'session_id must be a UUID');
          out.sessionId = value;
          break;
        default:
          out.headers[key.toLowerCase()] = value;
      }
    }
  }
  // A bearer token travels only over TLS, as in Spark's own clients.
  if (out.token !== undefined) out.useSsl = true;
  return out;
}

/** `sc://host:port`: the endpoint to name in messages, never with the token or other parameters. */
export function endpointOf(remote: Remote): string {
  const host = remote.host.includes(':') ? `[${remote.host}]` : remote.host;
  return `sc://${host}:${remote.port}`;
}

/** The connection string with the token's value hidden, for logs and errors. */
export function redactRemote(remote: string): string {
  return remote.replace(/(;token=)[^;]*/gi, '$1***');
}
