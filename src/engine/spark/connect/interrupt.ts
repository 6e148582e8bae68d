// Interrupt: cancels running operations of this session on the server (their Spark jobs are cancelled too).
import {
  InterruptRequestSchema,
  InterruptRequest_InterruptType,
  InterruptResponseSchema,
} from './gen/spark/connect/base_pb.ts';
import type { InterruptTarget, SparkTransport } from './transport.ts';

export type { InterruptTarget };

/** Interrupts operations; returns the ids of those that were running. `timeoutMs` bounds the call. */
export async function interrupt(
  client: SparkTransport,
  target: InterruptTarget,
  opts: { timeoutMs?: number } = {},
): Promise<string[]> {
  const which =
    target === 'all'
      ? { interruptType: InterruptRequest_InterruptType.ALL }
      : 'operationId' in target
        ? {
            interruptType: InterruptRequest_InterruptType.OPERATION_ID,
            interrupt: { case: 'operationId' as const, value: target.operationId },
          }
        : {
            interruptType: InterruptRequest_InterruptType.TAG,
            interrupt: { case: 'operationTag' as const, value: target.tag },
          };
  const res = await client.unary(
    'Interrupt',
    InterruptRequestSchema,
    InterruptResponseSchema,
    { ...client.requestBase(), ...which },
    opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs },
  );
  return res.interruptedIds;
}
