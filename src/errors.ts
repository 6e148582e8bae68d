/** Error codes recount raises; each maps to an exit code and says which kind of thing is at fault. */
export const errorCodes = {
  USAGE: 2,
  CONFIG_NOT_FOUND: 2,
  CONFIG_INVALID: 2,
  ANALYZER_UNKNOWN: 2,
  PARTITION_INVALID: 2,
  VERSION_NOT_FOUND: 2,
  PARTITION_NOT_HELD: 2,
  KEY_FLOAT: 1,
  KEY_UNKNOWN: 1,
  PARTITION_NOT_READY: 1,
  INPUT_CORRUPT: 1,
  INPUT_MISSING_COLUMN: 1,
  INPUT_SCHEMA_CHANGED: 1,
  SQL_INVALID: 1,
  CHECK_FAILED: 1,
  OUTPUT_NOT_WRITABLE: 1,
  DISK_FULL: 1,
  OUT_OF_MEMORY: 1,
  PUBLISH_CONFLICT: 1,
  STATE_STORE: 1,
  WAREHOUSE_UNREACHABLE: 1,
  WAREHOUSE_AUTH: 2,
  WAREHOUSE_BUSY: 1,
  WAREHOUSE_SCHEMA: 1,
  WAREHOUSE_LOAD: 1,
  LOAD_MISMATCH: 1,
  VERSION_FILES_MISSING: 1,
  INPUT_MISSING: 1,
  ENGINE_UNREACHABLE: 1,
  ENGINE_AUTH: 2,
  ENGINE_INTERRUPTED: 1,
  ENGINE_FAILED: 1,
  INTERNAL: 1,
} as const;

/** One of recount's error codes. */
export type ErrorCode = keyof typeof errorCodes;

/** A failure recount understands: a code, the thing at fault (file, column, partition, setting) and what to do. */
export class RecountError extends Error {
  readonly code: ErrorCode;
  readonly subject: string | undefined;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { subject?: string; hint?: string; cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, { cause: opts.cause });
    this.name = 'RecountError';
    this.code = code;
    this.subject = opts.subject;
    this.hint = opts.hint;
    this.details = opts.details;
  }

  /** Process exit code: 2 for bad usage or configuration, 1 for a run or check that failed. */
  get exitCode(): number {
    return errorCodes[this.code];
  }

  /** The error as a plain object for `--json` output and the state store. */
  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      subject: this.subject,
      hint: this.hint,
      ...(this.details ? { details: this.details } : {}),
    };
  }
}

/** Wrap anything thrown into a RecountError, keeping a RecountError as it is. */
export function asRecountError(err: unknown, fallback: ErrorCode = 'INTERNAL'): RecountError {
  if (err instanceof RecountError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const errno = err as NodeJS.ErrnoException;
  if (errno?.code === 'EACCES' || errno?.code === 'EPERM' || errno?.code === 'EROFS') {
    // A folder recount must write (output root, its .recount/, the state file) belongs to another user or is read-only.
    const path = (errno as NodeJS.ErrnoException & { dest?: string }).dest ?? errno.path;
    return new RecountError('OUTPUT_NOT_WRITABLE', `recount may not write ${path ?? 'a file it needs'}: ${message}`, {
      subject: path,
      hint: `give the user running recount write access to ${path ? `${path} and its folder` : 'the output root and .recount/'} (the published version stays as it is; the interrupted step finishes on the next command)`,
      cause: err,
    });
  }
  const code = /ENOSPC/.test(message) ? 'DISK_FULL' : fallback;
  const hint =
    code === 'DISK_FULL'
      ? 'free disk space on the output and spill volumes, then rerun; the previous version stays published'
      : undefined;
  return new RecountError(code, message, { cause: err, hint });
}
