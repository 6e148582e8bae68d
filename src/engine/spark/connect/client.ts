// One Spark Connect session over gRPC: the channel, the session id and user context every request carries,
// and the calls of the SparkConnectService. The operations live beside it (execute.ts, analyze.ts, config.ts,
// interrupt.ts); the methods here are their short forms.
import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import * as grpc from '@grpc/grpc-js';
import {
  create,
  fromBinary,
  toBinary,
  type DescMessage,
  type MessageInitShape,
  type MessageShape,
} from '@bufbuild/protobuf';
import type { Table } from 'apache-arrow';
import { RECOUNT_VERSION } from '../../../version.ts';
import { RecountError } from '../../../errors.ts';
import {
  FetchErrorDetailsRequestSchema,
  FetchErrorDetailsResponseSchema,
  ReleaseSessionRequestSchema,
  ReleaseSessionResponseSchema,
  UserContextSchema,
  type Plan,
  type UserContext,
} from './gen/spark/connect/base_pb.ts';
import type { Relation } from './gen/spark/connect/relations_pb.ts';
import { endpointOf, parseRemote, type Remote } from './remote.ts';
import { isServiceError, sparkErrorInfo, toRecountError } from './errors.ts';
import { collect, executePlan, type ExecuteOptions, type ExecuteResult } from './execute.ts';
import { schemaOf, sparkVersion, type SparkField } from './analyze.ts';
import { getConf, setConf } from './config.ts';
import { interrupt } from './interrupt.ts';
import type { InterruptTarget, SparkTransport } from './transport.ts';
import { relationPlan } from './plan.ts';

const SERVICE = '/spark.connect.SparkConnectService/';

/** Options of a client; everything else comes from the `sc://` string. */
export interface ClientOptions {
  /** Extra words for the client type the server logs (after `recount/<version>`). */
  clientType?: string;
  /** Largest message accepted from the server (default 128 MiB, the server's own limit). */
  maxMessageBytes?: number;
  /** Deadline of unary calls (AnalyzePlan, Config, Interrupt, …); default 10 minutes. */
  unaryTimeoutMs?: number;
}

/** A Spark Connect session: `SparkConnectClient.connect('sc://host:port')`, then `sql`, `collect`, `execute`, … */
export class SparkConnectClient implements SparkTransport {
  /** The parsed connection string. */
  readonly remote: Remote;
  /** `sc://host:port`, for messages (never holds the token). */
  readonly endpoint: string;
  /** The client-made session id (a UUID) every request carries; the server keys its session state by it. */
  readonly sessionId: string;
  readonly userContext: UserContext;
  /** Sent as client_type: `recount/<version> spark-connect-ts node/<version>`. */
  readonly clientType: string;
  /** The server's own id for this session, learnt from the first response; a change means the server restarted. */
  serverSideSessionId: string | undefined;
  private readonly channel: grpc.Client;
  private readonly unaryTimeoutMs: number;
  private closed = false;
  private readonly pending = new Set<Promise<unknown>>();

  private constructor(remote: Remote, opts: ClientOptions) {
    this.remote = remote;
    this.endpoint = endpointOf(remote);
    this.sessionId = remote.sessionId ?? randomUUID();
    this.userContext = create(UserContextSchema, {
      userId: remote.userId ?? safeUserName(),
      userName: remote.userId ?? safeUserName(),
    });
    this.clientType = [
      `recount/${RECOUNT_VERSION}`,
      'spark-connect-ts',
      `node/${process.version}`,
      opts.clientType,
      remote.userAgent,
    ]
      .filter(Boolean)
      .join(' ');
    this.unaryTimeoutMs = opts.unaryTimeoutMs ?? 600_000;
    let creds = remote.useSsl ? grpc.credentials.createSsl() : grpc.credentials.createInsecure();
    if (remote.token !== undefined) {
      const token = remote.token;
      creds = grpc.credentials.combineChannelCredentials(
        creds,
        grpc.credentials.createFromMetadataGenerator((_p, cb) => {
          const md = new grpc.Metadata();
          md.set('authorization', `Bearer ${token}`);
          cb(null, md);
        }),
      );
    }
    const max = opts.maxMessageBytes ?? 128 * 1024 * 1024;
    const host = remote.host.includes(':') ? `[${remote.host}]` : remote.host;
    this.channel = new grpc.Client(`${host}:${remote.port}`, creds, {
      'grpc.max_receive_message_length': max,
      'grpc.max_send_message_length': max,
      'grpc.primary_user_agent': this.clientType,
      // No client keepalive pings: grpc-java servers allow one per 5 minutes by default and answer more with GOAWAY,
      // which would cut long queries' streams. A dropped stream is reattached instead.
    });
  }

  /** A session on the server the `sc://` string names. Connects lazily: the first call reports an unreachable server. */
  static connect(remote: string | Remote, opts: ClientOptions = {}): SparkConnectClient {
    return new SparkConnectClient(typeof remote === 'string' ? parseRemote(remote) : remote, opts);
  }

  /** Fields every request starts with: session id, user context, client type, the server-side session id seen so far. */
  requestBase(): {
    sessionId: string;
    userContext: UserContext;
    clientType: string;
    clientObservedServerSideSessionId?: string;
  } {
    return {
      sessionId: this.sessionId,
      userContext: this.userContext,
      clientType: this.clientType,
      ...(this.serverSideSessionId ? { clientObservedServerSideSessionId: this.serverSideSessionId } : {}),
    };
  }

  /** Remembers the server's session id from a response. */
  observe(response: { serverSideSessionId?: string }): void {
    if (response.serverSideSessionId) this.serverSideSessionId = response.serverSideSessionId;
  }

  private metadata(): grpc.Metadata {
    const md = new grpc.Metadata();
    for (const [k, v] of Object.entries(this.remote.headers)) md.set(k, v);
    return md;
  }

  /** One unary call of the service (`AnalyzePlan`, `Config`, …); failures become RecountErrors. */
  async unary<I extends DescMessage, O extends DescMessage>(
    method: string,
    inSchema: I,
    outSchema: O,
    request: MessageInitShape<I>,
    opts: { operationId?: string; timeoutMs?: number; rawErrors?: boolean } = {},
  ): Promise<MessageShape<O>> {
    this.assertOpen();
    const msg = create(inSchema, request);
    try {
      const res = await new Promise<MessageShape<O>>((resolve, reject) => {
        this.channel.makeUnaryRequest(
          SERVICE + method,
          (m: MessageShape<I>) => Buffer.from(toBinary(inSchema, m)),
          (b: Buffer) => fromBinary(outSchema, b),
          msg,
          this.metadata(),
          { deadline: Date.now() + (opts.timeoutMs ?? this.unaryTimeoutMs) },
          (err, value) => (err ? reject(err) : resolve(value!)),
        );
      });
      this.observe(res as { serverSideSessionId?: string });
      return res;
    } catch (err) {
      if (opts.rawErrors) throw err;
      throw await this.toError(err, method, opts.operationId);
    }
  }

  /** One server-streaming call (`ExecutePlan`, `ReattachExecute`); the caller maps errors with `toError`. */
  serverStream<I extends DescMessage, O extends DescMessage>(
    method: string,
    inSchema: I,
    outSchema: O,
    request: MessageInitShape<I>,
  ): grpc.ClientReadableStream<MessageShape<O>> {
    this.assertOpen();
    return this.channel.makeServerStreamRequest(
      SERVICE + method,
      (m: MessageShape<I>) => Buffer.from(toBinary(inSchema, m)),
      (b: Buffer) => fromBinary(outSchema, b),
      create(inSchema, request),
      this.metadata(),
      {},
    );
  }

  /**
   * A RecountError for a failed call: the status and its ErrorInfo, completed by FetchErrorDetails when the
   * server gave an error id (the full message and cause chain), with a hint naming the endpoint.
   */
  async toError(err: unknown, action: string, operationId?: string): Promise<RecountError> {
    if (err instanceof RecountError) return err;
    if (!isServiceError(err)) {
      return new RecountError(
        'ENGINE_FAILED',
        `${action} on Spark Connect ${this.endpoint} failed: ${err instanceof Error ? err.message : String(err)}`,
        {
          subject: this.endpoint,
          hint: `see the Spark driver's log on ${this.endpoint}`,
          cause: err,
        },
      );
    }
    const info = sparkErrorInfo(err);
    if (info.errorId && !this.closed) {
      try {
        const d = await this.unary(
          'FetchErrorDetails',
          FetchErrorDetailsRequestSchema,
          FetchErrorDetailsResponseSchema,
          { ...this.requestBase(), errorId: info.errorId },
          { timeoutMs: 10_000, rawErrors: true },
        );
        const root = d.errors[d.rootErrorIdx ?? 0];
        if (root) {
          if (root.message) info.message = root.message;
          info.classes = root.errorTypeHierarchy.length ? root.errorTypeHierarchy : info.classes;
          const t = root.sparkThrowable;
          if (t?.errorClass) info.errorClass = t.errorClass;
          if (t?.sqlState) info.sqlState = t.sqlState;
          if (t && Object.keys(t.messageParameters).length) info.messageParameters = { ...t.messageParameters };
          // Causes carry the real reason of a wrapped failure (e.g. an executor's OutOfMemoryError).
          const causes = d.errors.filter((e) => e !== root).flatMap((e) => e.errorTypeHierarchy.slice(0, 1));
          if (causes.length) info.classes = [...(info.classes ?? []), ...causes];
        }
      } catch {
        // Details are a bonus: the status already says what failed.
      }
    }
    return toRecountError(info, { endpoint: this.endpoint, action, operationId }, err);
  }

  private assertOpen(): void {
    if (this.closed)
      throw new RecountError('INTERNAL', `the Spark Connect session ${this.sessionId} on ${this.endpoint} is closed`, {
        subject: this.endpoint,
      });
  }

  /** Runs a plan and gathers its results (Arrow table, SQL command result); see `executePlan`. */
  execute(plan: Plan, opts: ExecuteOptions = {}): Promise<ExecuteResult> {
    return executePlan(this, plan, opts);
  }

  /** Runs a relation and returns its rows as one Arrow table. */
  async collect(relation: Relation, opts: ExecuteOptions = {}): Promise<Table> {
    return collect(this, relation, opts);
  }

  /** The columns a relation would return (AnalyzePlan), without running it. */
  schema(relation: Relation): Promise<SparkField[]> {
    return schemaOf(this, relationPlan(relation));
  }

  /** The server's Spark version, e.g. `4.1.3`. */
  sparkVersion(): Promise<string> {
    return sparkVersion(this);
  }

  /** Sets session settings (`spark.sql.shuffle.partitions`, …). */
  setConf(pairs: Record<string, string>): Promise<void> {
    return setConf(this, pairs);
  }

  /** Reads session settings; a key the server does not know maps to undefined. */
  getConf(keys: string[]): Promise<Record<string, string | undefined>> {
    return getConf(this, keys);
  }

  /** Interrupts one operation, the operations with a tag, or all of this session's; returns the ids interrupted. */
  interrupt(target: InterruptTarget, opts: { timeoutMs?: number } = {}): Promise<string[]> {
    return interrupt(this, target, opts);
  }

  /** Keeps a housekeeping call (ReleaseExecute) running after its caller returned; `close` waits for it. */
  background(work: Promise<unknown>): void {
    const p = work.catch(() => {}).finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  /** Releases the server-side session (its temp views and settings) and closes the channel. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    await Promise.all([...this.pending]);
    try {
      await this.unary(
        'ReleaseSession',
        ReleaseSessionRequestSchema,
        ReleaseSessionResponseSchema,
        { sessionId: this.sessionId, userContext: this.userContext, clientType: this.clientType },
        { timeoutMs: 5_000, rawErrors: true },
      );
    } catch {
      // The server may be gone already; its session times out by itself.
    } finally {
      this.closed = true;
      this.channel.close();
    }
  }
}

function safeUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return 'recount';
  }
}
