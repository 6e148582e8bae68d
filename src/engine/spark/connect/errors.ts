// Spark Connect failures as recount's typed errors. The server puts a google.rpc.Status in the
// `grpc-status-details-bin` trailer; its ErrorInfo carries Spark's error class, SQL state and an error id
// whose full details (message, cause chain) FetchErrorDetails returns.
import { status as grpcStatus, type Metadata, type ServiceError } from '@grpc/grpc-js';
import { BinaryReader } from '@bufbuild/protobuf/wire';
import { RecountError, type ErrorCode } from '../../../errors.ts';

/** What a failed Spark Connect call says about itself. */
export interface SparkErrorInfo {
  /** gRPC status code (14 = UNAVAILABLE, …). */
  grpcCode: number;
  message: string;
  /** The JVM exception class (ErrorInfo.reason), e.g. `org.apache.spark.sql.AnalysisException`. */
  exceptionClass?: string;
  /** Spark's error condition, e.g. `TABLE_OR_VIEW_NOT_FOUND`, `PARSE_SYNTAX_ERROR`. */
  errorClass?: string;
  sqlState?: string;
  /** Handle for FetchErrorDetails. */
  errorId?: string;
  messageParameters?: Record<string, string>;
  /** Exception classes of the error and its causes, outermost first (from FetchErrorDetails or ErrorInfo). */
  classes?: string[];
}

interface ErrorInfoMsg {
  reason: string;
  domain: string;
  metadata: Record<string, string>;
}

const ERROR_INFO_TYPE = 'type.googleapis.com/google.rpc.ErrorInfo';

// google.rpc.Status { int32 code = 1; string message = 2; repeated google.protobuf.Any details = 3; }
function decodeStatus(bytes: Uint8Array): {
  code: number;
  message: string;
  details: { typeUrl: string; value: Uint8Array }[];
} {
  const r = new BinaryReader(bytes);
  const out = { code: 0, message: '', details: [] as { typeUrl: string; value: Uint8Array }[] };
  while (r.pos < r.len) {
    const [field, wire] = r.tag();
    if (field === 1) out.code = r.int32();
    else if (field === 2) out.message = r.string();
    else if (field === 3) {
      const any = new BinaryReader(r.bytes());
      const d: { typeUrl: string; value: Uint8Array } = { typeUrl: '', value: new Uint8Array() };
      while (any.pos < any.len) {
        const [f, w] = any.tag();
        if (f === 1) d.typeUrl = any.string();
        else if (f === 2) d.value = any.bytes();
        else any.skip(w);
      }
      out.details.push(d);
    } else r.skip(wire);
  }
  return out;
}

// google.rpc.ErrorInfo { string reason = 1; string domain = 2; map<string, string> metadata = 3; }
function decodeErrorInfo(bytes: Uint8Array): ErrorInfoMsg {
  const r = new BinaryReader(bytes);
  const out: ErrorInfoMsg = { reason: '', domain: '', metadata: {} };
  while (r.pos < r.len) {
    const [field, wire] = r.tag();
    if (field === 1) out.reason = r.string();
    else if (field === 2) out.domain = r.string();
    else if (field === 3) {
      const e = new BinaryReader(r.bytes());
      let k = '';
      let v = '';
      while (e.pos < e.len) {
        const [f, w] = e.tag();
        if (f === 1) k = e.string();
        else if (f === 2) v = e.string();
        else e.skip(w);
      }
      out.metadata[k] = v;
    } else r.skip(wire);
  }
  return out;
}

function parseJson<T>(text: string | undefined): T | undefined {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

/** True for a gRPC error thrown by @grpc/grpc-js. */
export function isServiceError(err: unknown): err is ServiceError {
  return typeof err === 'object' && err !== null && typeof (err as ServiceError).code === 'number' && 'metadata' in err;
}

/** Reads the status, and the ErrorInfo in its details trailer if any, of a failed call. */
export function sparkErrorInfo(err: ServiceError): SparkErrorInfo {
  const info: SparkErrorInfo = { grpcCode: err.code, message: err.details || err.message };
  const raw = (err.metadata as Metadata | undefined)?.get('grpc-status-details-bin')?.[0];
  if (raw instanceof Uint8Array) {
    try {
      const st = decodeStatus(raw);
      if (st.message) info.message = st.message;
      for (const d of st.details) {
        if (d.typeUrl !== ERROR_INFO_TYPE) continue;
        const ei = decodeErrorInfo(d.value);
        info.exceptionClass = ei.reason || undefined;
        info.errorClass = ei.metadata.errorClass;
        info.sqlState = ei.metadata.sqlState;
        info.errorId = ei.metadata.errorId;
        info.messageParameters = parseJson(ei.metadata.messageParameters);
        info.classes = parseJson(ei.metadata.classes);
      }
    } catch {
      // A trailer we cannot decode: the status message is still there.
    }
  }
  return info;
}

/** What a call was doing, for the message and hint of its error. */
export interface SparkErrorContext {
  /** `sc://host:port` (never with the token). */
  endpoint: string;
  /** E.g. `ExecutePlan`, `AnalyzePlan`. */
  action: string;
  operationId?: string;
}

function hasClass(info: SparkErrorInfo, re: RegExp): boolean {
  return [info.exceptionClass, ...(info.classes ?? [])].some((c) => c !== undefined && re.test(c));
}

/** Turns a Spark Connect failure into a RecountError with a code, the thing at fault and what to do. */
export function toRecountError(info: SparkErrorInfo, ctx: SparkErrorContext, cause?: unknown): RecountError {
  const where = `Spark Connect ${ctx.endpoint}`;
  const firstLine = (info.message.split('\n').find((l) => l.trim() !== '') ?? info.message).trim().slice(0, 2000);
  const details: Record<string, unknown> = {
    endpoint: ctx.endpoint,
    grpcCode: info.grpcCode,
    ...(ctx.operationId ? { operationId: ctx.operationId } : {}),
    ...(info.errorClass ? { errorClass: info.errorClass } : {}),
    ...(info.sqlState ? { sqlState: info.sqlState } : {}),
    ...(info.exceptionClass ? { exceptionClass: info.exceptionClass } : {}),
    ...(info.messageParameters ? { messageParameters: info.messageParameters } : {}),
  };
  const make = (code: ErrorCode, message: string, hint: string, subject?: string) =>
    new RecountError(code, message, { subject: subject ?? ctx.endpoint, hint, cause, details });
  const ec = info.errorClass ?? '';
  const msg = info.message;

  if (
    info.grpcCode === grpcStatus.UNAVAILABLE ||
    (info.grpcCode === grpcStatus.DEADLINE_EXCEEDED && !info.errorClass)
  ) {
    return make(
      'ENGINE_UNREACHABLE',
      `${ctx.action} failed: ${where} is unreachable (${firstLine})`,
      `check that the Spark Connect server at ${ctx.endpoint} is running and reachable from this host (engine.spark.remote or RECOUNT_SPARK_REMOTE); nothing was published, and the attempt can be retried once the server is back`,
    );
  }
  if (info.grpcCode === grpcStatus.UNAUTHENTICATED || info.grpcCode === grpcStatus.PERMISSION_DENIED) {
    return make(
      'ENGINE_AUTH',
      `${ctx.action} failed: ${where} refused the credentials (${firstLine})`,
      `check the token=… and user_id=… of the connection string for ${ctx.endpoint} (engine.spark.remote or RECOUNT_SPARK_REMOTE)`,
    );
  }
  if (
    ec === 'OPERATION_CANCELED' ||
    /OPERATION_CANCELED|was cancelled|cancelled job group|interrupted/i.test(ec + ' ' + firstLine) ||
    info.grpcCode === grpcStatus.CANCELLED
  ) {
    return make(
      'ENGINE_INTERRUPTED',
      `${ctx.action} on ${where} was interrupted${ctx.operationId ? ` (operation ${ctx.operationId})` : ''}: ${firstLine}`,
      'the operation was cancelled (by recount, a timeout or an operator); nothing of it was published, rerun the partition',
    );
  }
  if (
    hasClass(info, /OutOfMemoryError|SparkOutOfMemoryError/) ||
    /OutOfMemoryError|Java heap space|UNABLE_TO_ACQUIRE_MEMORY|executor lost|ExecutorLostFailure/i.test(ec + ' ' + msg)
  ) {
    return make(
      'OUT_OF_MEMORY',
      `${ctx.action} on ${where} ran out of memory: ${firstLine}`,
      'give the Spark executors more memory (spark.executor.memory) or raise spark.sql.shuffle.partitions so each task holds less; the attempt is retried',
    );
  }
  if (/No space left on device/i.test(msg)) {
    return make(
      'DISK_FULL',
      `${ctx.action} on ${where}: a disk filled up: ${firstLine}`,
      'free space on the Spark local dirs (spark.local.dir) and on the output volume, then rerun; the previous version stays published',
    );
  }
  if (
    ec === 'PATH_NOT_FOUND' ||
    /^FAILED_READ_FILE\.FILE_NOT_EXIST/.test(ec) ||
    hasClass(info, /FileNotFoundException/)
  ) {
    const path = info.messageParameters?.path;
    return make(
      'INPUT_MISSING',
      `${ctx.action} on ${where}: an input file is missing: ${firstLine}`,
      `check that ${path ?? 'the input files'} exist on storage the Spark cluster sees (the same path on every node, e.g. a shared mount); a partition rewritten meanwhile is read again on the retry`,
      path,
    );
  }
  if (
    /^FAILED_READ_FILE/.test(ec) ||
    /CANNOT_READ_FILE_FOOTER|not a Parquet file|ParquetDecodingException|Could not read footer/i.test(ec + ' ' + msg)
  ) {
    const path = info.messageParameters?.path;
    return make(
      'INPUT_CORRUPT',
      `${ctx.action} on ${where}: an input file could not be read: ${firstLine}`,
      `check ${path ?? 'the input files'}: rewrite or remove the corrupt file and mark the partition ready again`,
      path,
    );
  }
  if (ec.startsWith('INVALID_HANDLE')) {
    // OPERATION_ABANDONED / OPERATION_ALREADY_EXISTS / OPERATION_NOT_FOUND / SESSION_CHANGED: a stale or reused id.
    return make(
      'ENGINE_FAILED',
      `${ctx.action} on ${where} [${ec}]: ${firstLine}`,
      `the server no longer knows this session or operation${ctx.operationId ? ` (${ctx.operationId})` : ''} — it restarted, timed the operation out, or the id was used before; retry the attempt with a new operation id`,
    );
  }
  if (
    /^(PARSE_|UNRESOLVED_|TABLE_OR_VIEW_NOT_FOUND|DATATYPE_MISMATCH|AMBIGUOUS_|MISSING_AGGREGATION|MISSING_GROUP_BY|GROUP_BY_|WRONG_NUM_ARGS|INVALID_SQL_SYNTAX|NON_)/.test(
      ec,
    ) ||
    info.sqlState?.startsWith('42') ||
    (!ec && hasClass(info, /AnalysisException|ParseException/))
  ) {
    const column = info.messageParameters?.objectName;
    return make(
      'SQL_INVALID',
      `Spark rejected the SQL${ec ? ` [${ec}]` : ''}: ${firstLine}`,
      `fix the query${column ? ` (${column})` : ''}: it runs as Spark SQL on ${ctx.endpoint}, whose dialect differs from DuckDB's in places`,
      column,
    );
  }
  return make(
    'ENGINE_FAILED',
    `${ctx.action} failed on ${where}${ec ? ` [${ec}]` : ''}: ${firstLine}`,
    `see the Spark driver's log on ${ctx.endpoint}${ctx.operationId ? ` for operation ${ctx.operationId}` : ''}; the attempt can be retried`,
  );
}
