import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { isSparkOutOfMemory, type SparkErrorInfo, toRecountError } from '../../src/engine/spark/connect/errors.ts';

// Texts as Spark 4.1.3 writes them: error conditions from spark-common-utils' error-conditions.json, and the
// messages of its scheduler (spark-core), YARN and Kubernetes jars, with values filled in as a failure would.
const oom: [string, Partial<SparkErrorInfo>][] = [
  [
    'a task that could not get execution memory',
    {
      message: '[UNABLE_TO_ACQUIRE_MEMORY] Unable to acquire 65536 bytes of memory, got 0. SQLSTATE: 53200',
      errorClass: 'UNABLE_TO_ACQUIRE_MEMORY',
      exceptionClass: 'org.apache.spark.memory.SparkOutOfMemoryError',
    },
  ],
  [
    'an aggregation out of memory',
    {
      message: '[AGGREGATE_OUT_OF_MEMORY] No enough memory for aggregation SQLSTATE: 82001',
      errorClass: 'AGGREGATE_OUT_OF_MEMORY',
    },
  ],
  [
    'a spill that failed for memory',
    {
      message: '[SPILL_OUT_OF_MEMORY] Error while calling spill() on UnsafeExternalSorter : …',
      errorClass: 'SPILL_OUT_OF_MEMORY',
    },
  ],
  [
    'a broadcast too big for the driver',
    {
      message:
        'Not enough memory to build and broadcast the table to all worker nodes. As a workaround, you can either disable broadcast by setting spark.sql.autoBroadcastJoinThreshold to -1',
      errorClass: '_LEGACY_ERROR_TEMP_2250',
    },
  ],
  [
    'a JVM out of heap (only in the cause chain)',
    {
      message: 'Job aborted due to stage failure: Task 0 in stage 3.0 failed 1 times',
      exceptionClass: 'org.apache.spark.SparkException',
      classes: ['org.apache.spark.SparkException', 'java.lang.OutOfMemoryError'],
    },
  ],
  ['a JVM out of heap (in the message)', { message: 'java.lang.OutOfMemoryError: Java heap space' }],
  [
    'a YARN container killed for its memory',
    {
      message:
        'Job aborted due to stage failure: Task 7 in stage 2.0 failed 4 times, most recent failure: Lost task 7.3 in stage 2.0 (TID 31) (node-3 executor 4): ExecutorLostFailure (executor 4 exited caused by one of the running tasks) Reason: Container killed by YARN for exceeding physical memory limits. 5.5 GB of 5.5 GB physical memory used. Consider boosting spark.executor.memoryOverhead.',
    },
  ],
  [
    'a Kubernetes executor killed by the kernel',
    {
      message:
        'ExecutorLostFailure (executor 3 exited caused by one of the running tasks) Reason: The executor with id 3 exited with exit code 137(SIGKILL, possible container OOM).',
    },
  ],
  [
    'an executor whose heartbeat timed out',
    {
      message:
        'ExecutorLostFailure (executor driver exited unrelated to the running tasks) Reason: Executor heartbeat timed out after 125010 ms',
    },
  ],
];

const notOom: [string, Partial<SparkErrorInfo>][] = [
  ['bad SQL', { message: '[PARSE_SYNTAX_ERROR] Syntax error at or near "SELEC".', errorClass: 'PARSE_SYNTAX_ERROR' }],
  ['a full disk', { message: 'java.io.IOException: No space left on device' }],
  ['a missing table', { message: '[TABLE_OR_VIEW_NOT_FOUND] The table or view `x` cannot be found.' }],
  [
    'a configuration error about memory',
    {
      message: '[INVALID_EXECUTOR_MEMORY] Executor memory 1024 must be at least 471859200.',
      errorClass: 'INVALID_EXECUTOR_MEMORY',
    },
  ],
];

const ctx = { endpoint: 'sc://spark.example.com:15002', action: 'ExecutePlan' };

describe("Spark's out-of-memory failures", () => {
  for (const [what, info] of oom)
    it(`${what} is OUT_OF_MEMORY, with a hint naming the Spark settings`, () => {
      const full = { grpcCode: status.INTERNAL, message: '', ...info };
      expect(isSparkOutOfMemory(full)).toBe(true);
      const e = toRecountError(full, ctx);
      expect(e.code).toBe('OUT_OF_MEMORY');
      expect(e.hint).toContain('spark.sql.shuffle.partitions');
    });
  for (const [what, info] of notOom)
    it(`${what} is not out of memory`, () => {
      const full = { grpcCode: status.INTERNAL, message: '', ...info };
      expect(isSparkOutOfMemory(full)).toBe(false);
      expect(toRecountError(full, ctx).code).not.toBe('OUT_OF_MEMORY');
    });
});
