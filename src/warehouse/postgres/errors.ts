import { RecountError } from '../../errors.ts';
import { redact } from '../url.ts';

/** What was being done, for the message. */
export interface PgErrorContext {
  /** The warehouse URL, password masked. */
  readonly display: string;
  readonly secrets: readonly string[];
  /** e.g. "connecting", "loading ad_impressions_hourly 2023-10-12T09 v2 into table ad_impressions_hourly". */
  readonly doing: string;
  readonly subject?: string;
}

const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNRESET',
  'EPIPE',
]);

/**
 * Turn a pg (or network) error into a RecountError that names what failed; passwords never get through. Hints say
 * what to fix, not what happens to a load: the monitor and queries get these errors too, and the loader adds how
 * the load was recorded (loader.ts withLoadNote).
 */
export function pgError(err: unknown, ctx: PgErrorContext): RecountError {
  const secrets = ctx.secrets;
  if (err instanceof RecountError) {
    return new RecountError(err.code, redact(err.message, secrets), {
      subject: err.subject && redact(err.subject, secrets),
      hint: err.hint && redact(err.hint, secrets),
      details: err.details,
      cause: err,
    });
  }
  const e = err as Error & {
    code?: string;
    detail?: string;
    where?: string;
    hint?: string;
    column?: string;
    table?: string;
  };
  const raw = e?.message ?? String(err);
  const code = e?.code ?? '';
  const text = (s: string) => redact(s, secrets);
  const subject = ctx.subject ?? ctx.display;
  if (code === '28P01' || code === '28000') {
    return new RecountError('WAREHOUSE_AUTH', text(`the warehouse ${ctx.display} refused the credentials: ${raw}`), {
      subject: ctx.display,
      hint: 'fix the user and password in warehouse (recount.config.ts) or RECOUNT_WAREHOUSE',
      cause: err,
    });
  }
  if (code === '3D000') {
    return new RecountError('WAREHOUSE_UNREACHABLE', text(`the warehouse ${ctx.display}: ${raw}`), {
      subject: ctx.display,
      hint: 'create the database first, or fix its name in the warehouse URL',
      cause: err,
    });
  }
  if (
    UNREACHABLE.has(code) ||
    code.startsWith('08') ||
    code === '57P01' ||
    code === '57P02' ||
    code === '57P03' ||
    /Connection terminated|connection timeout|timeout expired|ECONNREFUSED|socket hang up|Client has encountered a connection error/i.test(
      raw,
    )
  ) {
    return new RecountError(
      'WAREHOUSE_UNREACHABLE',
      text(`cannot reach the warehouse ${ctx.display} while ${ctx.doing}: ${raw}`),
      {
        subject: ctx.display,
        hint: 'check that PostgreSQL is running and the host and port in the warehouse URL are right',
        cause: err,
      },
    );
  }
  const extra = [e.detail, e.where].filter(Boolean).join('; ');
  return new RecountError(
    'WAREHOUSE_LOAD',
    text(`${ctx.doing} on ${ctx.display} failed: ${raw}${extra ? ` (${extra})` : ''}`),
    {
      subject: text(subject),
      hint: e.hint ? text(e.hint) : undefined,
      details: code ? { sqlstate: code } : undefined,
      cause: err,
    },
  );
}
