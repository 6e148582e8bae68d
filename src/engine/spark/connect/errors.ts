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

/**
 * Texts of Spark 4.1 that mean memory ran out (from its error-conditions.json and its YARN, Kubernetes and scheduler
 * messages): a task that could not get execution memory, a JVM out of heap, an executor killed by its container for
 * its memory, or lost while it ran a task (in practice mostly memory: GC thrash until its heartbeat timed out).
 */
const SPARK_OOM_TEXT = new RegExp(
  [
    'OutOfMemoryError',
    'Java heap space',
    'GC overhead limit exceeded',
    'UNABLE_TO_ACQUIRE_MEMORY',
    'AGGREGATE_OUT_OF_MEMORY',
    'POINTER_ARRAY_OUT_OF_MEMORY',
    'SPILL_OUT_OF_MEMORY',
    'Not enough memory to build and broadcast',
    'not enough memory to build hash map',
    'bytes memory to build hash relation',
    'Could not allocate memory to grow BytesToBytesMap',
    'Container killed by YARN for exceeding (physical|virtual) memory limits',
    'possible container OOM',
    'ExecutorLostFailure',
    'executor lost',
  ].join('|'),
  'i',
);

/** True when a Spark failure is memory running out (a retry with more shuffle partitions may pass), not the query's fault. */
export function isSparkOutOfMemory(info: SparkErrorInfo): boolean {
  return hasClass(info, /OutOfMemoryError/) || SPARK_OOM_TEXT.test(`${info.errorClass ?? ''} ${info.message}`);
}

/** What a rule is given: the failure, where it happened, and a maker of the error with its details. */
interface RuleInput {
  readonly info: SparkErrorInfo;
  readonly ctx: SparkErrorContext;
  /** `Spark Connect <endpoint>`. */
  readonly where: string;
  /** The error class, or ''. */
  readonly ec: string;
  /** The message's first non-empty line, at most 2,000 characters. */
  readonly firstLine: string;
  readonly make: (code: ErrorCode, message: string, hint: string, subject?: string) => RecountError;
}

/** One kind of Spark failure: when it applies, and the RecountError it becomes. */
interface Rule {
  readonly when: (r: RuleInput) => boolean;
  readonly error: (r: RuleInput) => RecountError;
}

const SQL_ERROR_CLASS =
  /^(PARSE_|UNRESOLVED_|TABLE_OR_VIEW_NOT_FOUND|DATATYPE_MISMATCH|AMBIGUOUS_|MISSING_AGGREGATION|MISSING_GROUP_BY|GROUP_BY_|WRONG_NUM_ARGS|INVALID_SQL_SYNTAX|NON_)/;

/** The rules in order: the first that applies decides (an unreachable server before anything its message says). */
const RULES: readonly Rule[] = [
  {
    when: ({ info }) =>
      info.grpcCode === grpcStatus.UNAVAILABLE || (info.grpcCode === grpcStatus.DEADLINE_EXCEEDED && !info.errorClass),
    error: ({ ctx, where, firstLine, make }) =>
      make(
        'ENGINE_UNREACHABLE',
        `${ctx.action} failed: ${where} is unreachable (${firstLine})`,
        `check that the Spark Connect server at ${ctx.endpoint} is running and reachable from this host (engine.spark.remote or RECOUNT_SPARK_REMOTE); nothing was published, and the attempt can be retried once the server is back`,
      ),
  },
  {
    when: ({ info }) => info.grpcCode === grpcStatus.UNAUTHENTICATED || info.grpcCode === grpcStatus.PERMISSION_DENIED,
    error: ({ ctx, where, firstLine, make }) =>
      make(
        'ENGINE_AUTH',
        `${ctx.action} failed: ${where} refused the credentials (${firstLine})`,
        `check the token=… and user_id=… of the connection string for ${ctx.endpoint} (engine.spark.remote or RECOUNT_SPARK_REMOTE)`,
      ),
  },
  {
    when: ({ info, ec, firstLine }) =>
      ec === 'OPERATION_CANCELED' ||
      /OPERATION_CANCELED|was cancelled|cancelled job group|interrupted/i.test(`${ec} ${firstLine}`) ||
      info.grpcCode === grpcStatus.CANCELLED,
    error: ({ ctx, where, firstLine, make }) =>
      make(
        'ENGINE_INTERRUPTED',
        `${ctx.action} on ${where} was interrupted${ctx.operationId ? ` (operation ${ctx.operationId})` : ''}: ${firstLine}`,
        'the operation was cancelled (by recount, a timeout or an operator); nothing of it was published, rerun the partition',
      ),
  },
  {
    when: ({ info }) => isSparkOutOfMemory(info),
    error: ({ ctx, where, firstLine, make }) =>
      make(
        'OUT_OF_MEMORY',
        `${ctx.action} on ${where} ran out of memory: ${firstLine}`,
        'the attempt is retried with smaller tasks (twice the shuffle partitions, half the partition sizes, no broadcast joins); if it keeps failing, give the Spark executors more memory (spark.executor.memory, spark.executor.memoryOverhead) or raise spark.sql.shuffle.partitions in the analyzer’s Spark conf',
      ),
  },
  {
    when: ({ info }) => /No space left on device/i.test(info.message),
    error: ({ ctx, where, firstLine, make }) =>
      make(
        'DISK_FULL',
        `${ctx.action} on ${where}: a disk filled up: ${firstLine}`,
        'free space on the Spark local dirs (spark.local.dir) and on the output volume, then rerun; the previous version stays published',
      ),
  },
  {
    when: ({ info, ec }) =>
      ec === 'PATH_NOT_FOUND' ||
      /^FAILED_READ_FILE\.FILE_NOT_EXIST/.test(ec) ||
      hasClass(info, /FileNotFoundException/),
    error: ({ info, ctx, where, firstLine, make }) => {
      const path = info.messageParameters?.path;
      return make(
        'INPUT_MISSING',
        `${ctx.action} on ${where}: an input file is missing: ${firstLine}`,
        `check that ${path ?? 'the input files'} exist on storage the Spark cluster sees (the same path on every node, e.g. a shared mount); a partition rewritten meanwhile is read again on the retry`,
        path,
      );
    },
  },
  {
    when: ({ info, ec }) =>
      /^FAILED_READ_FILE/.test(ec) ||
      /CANNOT_READ_FILE_FOOTER|not a Parquet file|ParquetDecodingException|Could not read footer/i.test(
        `${ec} ${info.message}`,
      ),
    error: ({ info, ctx, where, firstLine, make }) => {
      const path = info.messageParameters?.path;
      return make(
        'INPUT_CORRUPT',
        `${ctx.action} on ${where}: an input file could not be read: ${firstLine}`,
        `check ${path ?? 'the input files'}: rewrite or remove the corrupt file and mark the partition ready again`,
        path,
      );
    },
  },
  {
    // OPERATION_ABANDONED / OPERATION_ALREADY_EXISTS / OPERATION_NOT_FOUND / SESSION_CHANGED: a stale or reused id.
    when: ({ ec }) => ec.startsWith('INVALID_HANDLE'),
    error: ({ ctx, where, ec, firstLine, make }) =>
      make(
        'ENGINE_FAILED',
        `${ctx.action} on ${where} [${ec}]: ${firstLine}`,
        `the server no longer knows this session or operation${ctx.operationId ? ` (${ctx.operationId})` : ''} — it restarted, timed the operation out, or the id was used before; retry the attempt with a new operation id`,
      ),
  },
  {
    when: ({ info, ec }) =>
      SQL_ERROR_CLASS.test(ec) ||
      info.sqlState?.startsWith('42') === true ||
      (!ec && hasClass(info, /AnalysisException|ParseException/)),
    error: ({ info, ctx, ec, firstLine, make }) => {
      const column = info.messageParameters?.objectName;
      return make(
        'SQL_INVALID',
        `Spark rejected the SQL${ec ? ` [${ec}]` : ''}: ${firstLine}`,
        `fix the query${column ? ` (${column})` : ''}: it runs as Spark SQL on ${ctx.endpoint}, whose dialect differs from DuckDB's in places`,
        column,
      );
    },
  },
];

/** Turns a Spark Connect failure into a RecountError with a code, the thing at fault and what to do. */
export function toRecountError(info: SparkErrorInfo, ctx: SparkErrorContext, cause?: unknown): RecountError {
  const details: Record<string, unknown> = {
    endpoint: ctx.endpoint,
    grpcCode: info.grpcCode,
    ...(ctx.operationId ? { operationId: ctx.operationId } : {}),
    ...(info.errorClass ? { errorClass: info.errorClass } : {}),
    ...(info.sqlState ? { sqlState: info.sqlState } : {}),
    ...(info.exceptionClass ? { exceptionClass: info.exceptionClass } : {}),
    ...(info.messageParameters ? { messageParameters: info.messageParameters } : {}),
  };
  const r: RuleInput = {
    info,
    ctx,
    where: `Spark Connect ${ctx.endpoint}`,
    ec: info.errorClass ?? '',
    firstLine: (info.message.split('\n').find((l) => l.trim() !== '') ?? info.message).trim().slice(0, 2000),
    make: (code, message, hint, subject) =>
      new RecountError(code, message, { subject: subject ?? ctx.endpoint, hint, cause, details }),
  };
  const rule = RULES.find((x) => x.when(r));
  if (rule) return rule.error(r);
  return r.make(
    'ENGINE_FAILED',
    `${ctx.action} failed on ${r.where}${r.ec ? ` [${r.ec}]` : ''}: ${r.firstLine}`,
    `see the Spark driver's log on ${ctx.endpoint}${ctx.operationId ? ` for operation ${ctx.operationId}` : ''}; the attempt can be retried`,
  );
}
