import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { describe, expect, it } from 'vitest';
import { sparkErrorInfo, toRecountError } from '../../src/engine/spark/connect/errors.ts';

/** A gRPC error as a Spark Connect server sends it: a google.rpc.Status with an ErrorInfo in the details trailer. */
function serverError(
  code: number,
  message: string,
  reason?: string,
  metadata: Record<string, string> = {},
): ServiceError {
  const md = new Metadata();
  if (reason) {
    const info = new BinaryWriter().uint32(10).string(reason).uint32(18).string('org.apache.spark');
    for (const [k, v] of Object.entries(metadata))
      info.uint32(26).bytes(new BinaryWriter().uint32(10).string(k).uint32(18).string(v).finish());
    const any = new BinaryWriter()
      .uint32(10)
      .string('type.googleapis.com/google.rpc.ErrorInfo')
      .uint32(18)
      .bytes(info.finish())
      .finish();
    md.set(
      'grpc-status-details-bin',
      Buffer.from(new BinaryWriter().uint32(8).int32(code).uint32(18).string(message).uint32(26).bytes(any).finish()),
    );
  }
  return Object.assign(new Error(`${code} ${message}`), { code, details: message, metadata: md }) as ServiceError;
}

const ctx = { endpoint: 'sc://spark.example.com:15002', action: 'ExecutePlan', operationId: 'op-1' };

describe('Spark Connect errors as RecountErrors', () => {
  it('reads error class, SQL state, error id and parameters from the ErrorInfo trailer', () => {
    const info = sparkErrorInfo(
      serverError(
        status.INTERNAL,
        '[TABLE_OR_VIEW_NOT_FOUND] The table or view `x` cannot be found.',
        'org.apache.spark.sql.AnalysisException',
        {
          errorClass: 'TABLE_OR_VIEW_NOT_FOUND',
          sqlState: '42P01',
          errorId: 'e-1',
          messageParameters: '{"relationName":"`x`"}',
          classes: '["org.apache.spark.sql.AnalysisException"]',
        },
      ),
    );
    expect(info).toEqual({
      grpcCode: status.INTERNAL,
      message: '[TABLE_OR_VIEW_NOT_FOUND] The table or view `x` cannot be found.',
      exceptionClass: 'org.apache.spark.sql.AnalysisException',
      errorClass: 'TABLE_OR_VIEW_NOT_FOUND',
      sqlState: '42P01',
      errorId: 'e-1',
      messageParameters: { relationName: '`x`' },
      classes: ['org.apache.spark.sql.AnalysisException'],
    });
  });

  const cases: [string, ServiceError, string][] = [
    [
      'an unreachable server',
      serverError(status.UNAVAILABLE, 'No connection established. Last error: connect ECONNREFUSED'),
      'ENGINE_UNREACHABLE',
    ],
    ['a refused token', serverError(status.UNAUTHENTICATED, 'invalid token'), 'ENGINE_AUTH'],
    [
      'an interrupted operation',
      serverError(
        status.INTERNAL,
        '[OPERATION_CANCELED] Operation has been cancelled.',
        'org.apache.spark.SparkException',
        { errorClass: 'OPERATION_CANCELED' },
      ),
      'ENGINE_INTERRUPTED',
    ],
    [
      'an executor out of memory',
      serverError(
        status.INTERNAL,
        'Job aborted due to stage failure: ExecutorLostFailure (executor 1 exited caused by one of the running tasks)',
        'org.apache.spark.SparkException',
      ),
      'OUT_OF_MEMORY',
    ],
    [
      'SparkOutOfMemoryError',
      serverError(
        status.INTERNAL,
        '[UNABLE_TO_ACQUIRE_MEMORY] Unable to acquire 65536 bytes of memory',
        'org.apache.spark.memory.SparkOutOfMemoryError',
        { errorClass: 'UNABLE_TO_ACQUIRE_MEMORY' },
      ),
      'OUT_OF_MEMORY',
    ],
    [
      'a full disk',
      serverError(status.INTERNAL, 'java.io.IOException: No space left on device', 'java.io.IOException'),
      'DISK_FULL',
    ],
    [
      'a corrupt Parquet file',
      serverError(
        status.INTERNAL,
        '[FAILED_READ_FILE.CANNOT_READ_FILE_FOOTER] Could not read footer',
        'org.apache.spark.SparkException',
        { errorClass: 'FAILED_READ_FILE.CANNOT_READ_FILE_FOOTER', messageParameters: '{"path":"file:/d/x.parquet"}' },
      ),
      'INPUT_CORRUPT',
    ],
    [
      'a missing file',
      serverError(
        status.INTERNAL,
        '[PATH_NOT_FOUND] Path does not exist: file:/d/y.parquet.',
        'org.apache.spark.sql.AnalysisException',
        { errorClass: 'PATH_NOT_FOUND', sqlState: '42K03', messageParameters: '{"path":"file:/d/y.parquet"}' },
      ),
      'INPUT_MISSING',
    ],
    [
      'bad SQL',
      serverError(
        status.INTERNAL,
        '[PARSE_SYNTAX_ERROR] Syntax error',
        'org.apache.spark.sql.catalyst.parser.ParseException',
        { errorClass: 'PARSE_SYNTAX_ERROR', sqlState: '42601' },
      ),
      'SQL_INVALID',
    ],
    [
      'a stale operation',
      serverError(status.INTERNAL, '[INVALID_HANDLE.OPERATION_NOT_FOUND]', 'org.apache.spark.SparkSQLException', {
        errorClass: 'INVALID_HANDLE.OPERATION_NOT_FOUND',
        sqlState: 'HY000',
      }),
      'ENGINE_FAILED',
    ],
    ['anything else', serverError(status.INTERNAL, 'boom', 'java.lang.IllegalStateException'), 'ENGINE_FAILED'],
  ];
  for (const [what, err, code] of cases) {
    it(`${what} is ${code}, with a hint and the endpoint`, () => {
      const e = toRecountError(sparkErrorInfo(err), ctx, err);
      expect(e.code).toBe(code);
      expect(e.hint).toBeTruthy();
      expect(`${e.message} ${e.hint}`).toContain('sc://spark.example.com:15002');
      expect(e.details).toMatchObject({ endpoint: ctx.endpoint, operationId: 'op-1' });
      expect(e.cause).toBe(err);
    });
  }

  it('names the file at fault of a missing or corrupt input', () => {
    const e = toRecountError(sparkErrorInfo(cases[7]![1]), ctx);
    expect(e.subject).toBe('file:/d/y.parquet');
    expect(e.hint).toContain('file:/d/y.parquet');
  });
});
