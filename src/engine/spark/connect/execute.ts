// ExecutePlan: runs a plan and streams its responses. The client makes the operation id, asks for a
// reattachable execution, and when the stream drops (network, proxy, server closing it early) reattaches
// with ReattachExecute from the last response it got: the job itself never runs twice. Responses already
// consumed are released as it goes (ReleaseExecute), all of them at the end.
import { randomUUID } from 'node:crypto';
import { status as grpcStatus, type ClientReadableStream } from '@grpc/grpc-js';
import {
  DataType as ArrowType,
  Table,
  tableFromIPC,
  type Decimal,
  type List,
  type Map_,
  type Struct,
} from 'apache-arrow';
type DataType_ = ArrowType;
import { RecountError } from '../../../errors.ts';
import {
  ExecutePlanRequestSchema,
  ExecutePlanResponseSchema,
  ReattachExecuteRequestSchema,
  ReleaseExecuteRequestSchema,
  ReleaseExecuteResponseSchema,
  type ExecutePlanResponse,
  type Plan,
} from './gen/spark/connect/base_pb.ts';
import type { DataType } from './gen/spark/connect/types_pb.ts';
import type { Relation } from './gen/spark/connect/relations_pb.ts';
import type { SparkTransport } from './transport.ts';
import { isServiceError, sparkErrorInfo } from './errors.ts';
import { relationPlan } from './plan.ts';

/** Options of one execution. */
export interface ExecuteOptions {
  /** The operation id (a UUID); made here when absent. Reusing one for a new plan is refused by the server. */
  operationId?: string;
  /** Tags to interrupt the operation by (`interrupt({ tag })`). */
  tags?: string[];
  /** Aborting interrupts the operation on the server and rejects with ENGINE_INTERRUPTED. */
  signal?: AbortSignal;
  /** Reattach after a dropped stream (default true). */
  reattachable?: boolean;
  /** Reattaches tried in a row without a response in between before giving up (default 8). */
  maxReattaches?: number;
  /** Called with every response, in order, once (a reattach never repeats one). */
  onResponse?: (response: ExecutePlanResponse, stream: ExecuteStream) => void;
}

/** What an execution returned. */
export interface ExecuteResult {
  operationId: string;
  /** The rows, when the plan returned any Arrow batches. */
  table: Table | undefined;
  /** The result's Spark schema, when the server sent it. */
  schema: DataType | undefined;
  /** For a SQL command: the relation holding its result (e.g. for `SHOW TABLES`). */
  sqlCommandResult: Relation | undefined;
  /** How often the stream was reattached. */
  reattaches: number;
  responses: number;
}

function retryableDrop(err: unknown): boolean {
  if (!isServiceError(err)) return false;
  // Nothing listens there (server down or restarted): its operations are gone, reattaching cannot help.
  if (/ECONNREFUSED|No connection established/.test(err.details ?? '')) return false;
  if (err.code === grpcStatus.UNAVAILABLE || err.code === grpcStatus.UNKNOWN) return true;
  // HTTP/2 resets and proxies closing the stream surface as INTERNAL without a Spark error class.
  return err.code === grpcStatus.INTERNAL && !sparkErrorInfo(err).errorClass;
}

function isOperationNotFound(err: unknown): boolean {
  return (
    isServiceError(err) &&
    /OPERATION_NOT_FOUND|INVALID_HANDLE\.OPERATION_NOT_FOUND/.test(
      `${sparkErrorInfo(err).errorClass ?? ''} ${err.details}`,
    )
  );
}

/**
 * One execution as an async stream of responses, reattaching transparently. Iterate it once
 * (`for await (const r of stream)`), or call `executePlan` for the gathered result.
 */
export class ExecuteStream implements AsyncIterable<ExecutePlanResponse> {
  readonly operationId: string;
  /** Response id of the last response handed out: where a reattach resumes. */
  lastResponseId: string | undefined;
  reattaches = 0;
  private call: ClientReadableStream<ExecutePlanResponse> | undefined;
  private dropping = false;
  private released: string | undefined;
  private releasing: Promise<void> | undefined;

  constructor(
    private readonly client: SparkTransport,
    private readonly plan: Plan,
    private readonly opts: ExecuteOptions = {},
  ) {
    this.operationId = opts.operationId ?? randomUUID();
  }

  /**
   * Cuts the current gRPC stream as a network failure would, leaving the operation running on the server;
   * the iteration reattaches. For fault tests.
   */
  dropStream(): void {
    this.dropping = true;
    this.call?.cancel();
  }

  private open(first: boolean): ClientReadableStream<ExecutePlanResponse> {
    const base = this.client.requestBase();
    if (first) {
      return this.client.serverStream('ExecutePlan', ExecutePlanRequestSchema, ExecutePlanResponseSchema, {
        ...base,
        operationId: this.operationId,
        plan: this.plan,
        tags: this.opts.tags ?? [],
        requestOptions:
          this.opts.reattachable === false
            ? []
            : [{ requestOption: { case: 'reattachOptions', value: { reattachable: true } } }],
      });
    }
    return this.client.serverStream('ReattachExecute', ReattachExecuteRequestSchema, ExecutePlanResponseSchema, {
      ...base,
      operationId: this.operationId,
      ...(this.lastResponseId ? { lastResponseId: this.lastResponseId } : {}),
    });
  }

  async *[Symbol.asyncIterator](): AsyncIterator<ExecutePlanResponse> {
    const signal = this.opts.signal;
    const reattachable = this.opts.reattachable !== false;
    const maxReattaches = this.opts.maxReattaches ?? 8;
    let started = false; // ExecutePlan reached the server (a response came back)
    let first = true;
    let tries = 0;
    let complete = false;
    const onAbort = () => this.call?.cancel();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      while (!complete) {
        if (signal?.aborted) throw await this.interrupted();
        this.dropping = false;
        this.call = this.open(first);
        let failure: unknown;
        try {
          for await (const res of this.call as AsyncIterable<ExecutePlanResponse>) {
            started = true;
            tries = 0;
            this.client.observe(res);
            if (res.responseId) this.lastResponseId = res.responseId;
            if (res.responseType.case === 'resultComplete') complete = true;
            this.opts.onResponse?.(res, this);
            yield res;
            if (res.responseType.case === 'arrowBatch' && reattachable) this.releaseUntil(res.responseId);
          }
        } catch (err) {
          failure = err;
        }
        if (complete) break;
        if (signal?.aborted) throw await this.interrupted();
        const dropped = this.dropping || failure === undefined || retryableDrop(failure);
        if (!reattachable || !dropped) {
          if (!reattachable && failure === undefined) break; // a non-reattachable stream simply ends
          throw await this.client.toError(failure, first ? 'ExecutePlan' : 'ReattachExecute', this.operationId);
        }
        if (!first && !started && isOperationNotFound(failure)) {
          // The first ExecutePlan never reached the server: send it again under the same operation id.
          first = true;
          continue;
        }
        if (++tries > maxReattaches) {
          throw await this.client.toError(
            failure ?? new Error('the response stream ended before the result was complete'),
            'ReattachExecute',
            this.operationId,
          );
        }
        if (!this.dropping && tries > 1)
          await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** (tries - 1), 3_000)));
        this.reattaches++;
        first = false;
      }
    } catch (err) {
      // Aborted by the caller: whatever the stream failed with meanwhile (a cancelled call, a server error about
      // the cancelled job), the operation ends as interrupted by recount.
      if (signal?.aborted && !(err instanceof RecountError && err.code === 'ENGINE_INTERRUPTED'))
        throw await this.interrupted();
      throw err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.call?.cancel();
      // Released in the background: the result is complete, and close() waits for it.
      if (reattachable && started) this.client.background(this.releaseAll());
    }
  }

  private async interrupted(): Promise<RecountError> {
    this.call?.cancel();
    try {
      await this.client.interrupt({ operationId: this.operationId });
    } catch {
      // The operation may have ended meanwhile.
    }
    return new RecountError(
      'ENGINE_INTERRUPTED',
      `operation ${this.operationId} on Spark Connect ${this.client.endpoint} was interrupted by recount`,
      {
        subject: this.client.endpoint,
        hint: 'the operation was cancelled before it finished; nothing of it was published, rerun the partition',
        details: { operationId: this.operationId, endpoint: this.client.endpoint },
      },
    );
  }

  // Tells the server it may drop responses up to this one; one release in flight at a time.
  private releaseUntil(responseId: string): void {
    if (this.releasing || !responseId) return;
    this.releasing = this.client
      .unary(
        'ReleaseExecute',
        ReleaseExecuteRequestSchema,
        ReleaseExecuteResponseSchema,
        {
          ...this.client.requestBase(),
          operationId: this.operationId,
          release: { case: 'releaseUntil', value: { responseId } },
        },
        { timeoutMs: 30_000, rawErrors: true },
      )
      .then(
        () => void (this.released = responseId),
        () => {},
      )
      .finally(() => (this.releasing = undefined));
  }

  private async releaseAll(): Promise<void> {
    await this.releasing;
    try {
      await this.client.unary(
        'ReleaseExecute',
        ReleaseExecuteRequestSchema,
        ReleaseExecuteResponseSchema,
        { ...this.client.requestBase(), operationId: this.operationId, release: { case: 'releaseAll', value: {} } },
        { timeoutMs: 10_000, rawErrors: true },
      );
    } catch {
      // The server releases abandoned operations by itself after a timeout.
    }
  }
}

/** Runs a plan to its end and gathers the result: Arrow batches as one table, the schema, a SQL command's result. */
export async function executePlan(
  client: SparkTransport,
  plan: Plan,
  opts: ExecuteOptions = {},
): Promise<ExecuteResult> {
  const stream = new ExecuteStream(client, plan, opts);
  const batches: Uint8Array[] = [];
  let schema: DataType | undefined;
  let sqlCommandResult: Relation | undefined;
  let responses = 0;
  for await (const res of stream) {
    responses++;
    if (res.schema) schema = res.schema;
    switch (res.responseType.case) {
      case 'arrowBatch':
        batches.push(res.responseType.value.data);
        break;
      case 'sqlCommandResult':
        sqlCommandResult = res.responseType.value.relation;
        break;
      default:
    }
  }
  return {
    operationId: stream.operationId,
    table: batches.length ? arrowTable(batches) : undefined,
    schema,
    sqlCommandResult,
    reattaches: stream.reattaches,
    responses,
  };
}

/** Decodes Spark's Arrow batches (each a complete IPC stream) into one table. */
export function arrowTable(batches: Uint8Array[]): Table {
  const tables = batches.map((b) => tableFromIPC(b));
  const withRows = tables.filter((t) => t.numRows > 0);
  if (withRows.length === 0) return tables[0] ?? new Table();
  return new Table(withRows.flatMap((t) => t.batches));
}

/** Runs a relation and returns its rows as one Arrow table (empty, with no columns, if Spark sent no batch). */
export async function collect(client: SparkTransport, relation: Relation, opts: ExecuteOptions = {}): Promise<Table> {
  const res = await executePlan(client, relationPlan(relation), opts);
  return res.table ?? new Table();
}

/**
 * The rows of a table as plain JSON-safe objects, as recount's engines return them: 64-bit integers and
 * decimals as strings, dates as `YYYY-MM-DD`, timestamps as ISO strings (milliseconds), binary as base64,
 * lists as arrays, structs and maps as objects.
 */
export function tableRows<T = Record<string, unknown>>(table: Table): T[] {
  const fields = table.schema.fields;
  const convert = fields.map((f) => converter(f.type));
  const columns = fields.map((_, i) => table.getChildAt(i)!);
  const out: T[] = [];
  for (let r = 0; r < table.numRows; r++) {
    const obj: Record<string, unknown> = {};
    for (const [i, f] of fields.entries()) obj[f.name] = convert[i]!(columns[i]!.get(r));
    out.push(obj as T);
  }
  return out;
}

type Convert = (v: unknown) => unknown;

function converter(type: DataType_): Convert {
  const nullable =
    (f: Convert): Convert =>
    (v) =>
      v === null || v === undefined ? null : f(v);
  if (ArrowType.isInt(type) || ArrowType.isFloat(type))
    return nullable((v) => (typeof v === 'bigint' ? v.toString() : v));
  if (ArrowType.isDecimal(type)) {
    const scale = (type as Decimal).scale;
    return nullable((v) => decimalString(BigInt(String(v)), scale));
  }
  if (ArrowType.isDate(type)) return nullable((v) => new Date(Number(v)).toISOString().slice(0, 10));
  if (ArrowType.isTimestamp(type)) return nullable((v) => new Date(Number(v)).toISOString());
  if (ArrowType.isBinary(type) || ArrowType.isFixedSizeBinary(type) || ArrowType.isLargeBinary(type))
    return nullable((v) => Buffer.from(v as Uint8Array).toString('base64'));
  if (ArrowType.isList(type) || ArrowType.isFixedSizeList(type)) {
    const child = converter((type as List).children[0]!.type);
    return nullable((v) => [...(v as Iterable<unknown>)].map(child));
  }
  if (ArrowType.isStruct(type)) {
    const kids = (type as Struct).children.map((c) => [c.name, converter(c.type)] as const);
    return nullable((v) =>
      Object.fromEntries(kids.map(([name, f]) => [name, f((v as Record<string, unknown>)[name])])),
    );
  }
  if (ArrowType.isMap(type)) {
    const entry = (type as Map_).children[0]!.type as Struct;
    const key = converter(entry.children[0]!.type);
    const value = converter(entry.children[1]!.type);
    return nullable((v) =>
      Object.fromEntries([...(v as Iterable<[unknown, unknown]>)].map(([k, x]) => [String(key(k)), value(x)])),
    );
  }
  return nullable((v) => (typeof v === 'bigint' ? v.toString() : v));
}

function decimalString(unscaled: bigint, scale: number): string {
  if (scale <= 0) return (unscaled * 10n ** BigInt(-scale)).toString();
  const neg = unscaled < 0n;
  const digits = (neg ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
  return `${neg ? '-' : ''}${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
}
