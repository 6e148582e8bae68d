// What the operations (execute.ts, analyze.ts, config.ts, interrupt.ts) need of a session: its calls and the
// fields every request carries. SparkConnectClient implements it; the operations depend on this, not on the
// client, so the client can import them without an import cycle.
import type { ClientReadableStream } from '@grpc/grpc-js';
import type { DescMessage, MessageInitShape, MessageShape } from '@bufbuild/protobuf';
import type { RecountError } from '../../../errors.ts';
import type { UserContext } from './gen/spark/connect/base_pb.ts';

/** Which operations an interrupt stops: one by its id, those with a tag, or all of the session's. */
export type InterruptTarget = { operationId: string } | { tag: string } | 'all';

/** A Spark Connect session as the operations use it. */
export interface SparkTransport {
  /** `host:port`, for messages. */
  readonly endpoint: string;
  /** Fields every request starts with. */
  requestBase(): {
    sessionId: string;
    userContext: UserContext;
    clientType: string;
    clientObservedServerSideSessionId?: string;
  };
  /** Remembers the server's session id from a response. */
  observe(response: { serverSideSessionId?: string }): void;
  /** One unary call of the service; failures become RecountErrors unless `rawErrors`. */
  unary<I extends DescMessage, O extends DescMessage>(
    method: string,
    inSchema: I,
    outSchema: O,
    request: MessageInitShape<I>,
    opts?: { operationId?: string; timeoutMs?: number; rawErrors?: boolean },
  ): Promise<MessageShape<O>>;
  /** One server-streaming call; the caller maps errors with `toError`. */
  serverStream<I extends DescMessage, O extends DescMessage>(
    method: string,
    inSchema: I,
    outSchema: O,
    request: MessageInitShape<I>,
  ): ClientReadableStream<MessageShape<O>>;
  /** A RecountError for a failed call, naming the endpoint. */
  toError(err: unknown, action: string, operationId?: string): Promise<RecountError>;
  /** Interrupts operations; returns the ids interrupted. */
  interrupt(target: InterruptTarget, opts?: { timeoutMs?: number }): Promise<string[]>;
  /** Keeps a housekeeping call running after its caller returned. */
  background(work: Promise<unknown>): void;
}
