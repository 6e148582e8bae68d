import { describe, expect, it } from 'vitest';
import { RecountError } from '../../src/errors.ts';
import { endpointOf, parseRemote, redactRemote } from '../../src/engine/spark/connect/remote.ts';

describe('Spark Connect connection strings', () => {
  it('reads host and port, with 15002 as the default port and no TLS', () => {
    expect(parseRemote('sc://localhost')).toEqual({ host: 'localhost', port: 15002, useSsl: false, headers: {} });
    expect(parseRemote('sc://10.1.2.3:443/')).toMatchObject({ host: '10.1.2.3', port: 443, useSsl: false });
    expect(parseRemote('sc://[::1]:15003')).toMatchObject({ host: '::1', port: 15003 });
    expect(endpointOf(parseRemote('sc://[::1]:15003'))).toBe('sc://[::1]:15003');
  });

  it('reads the parameters after /; and passes unknown ones on as headers', () => {
    const r = parseRemote(
      'sc://spark.example.com:15002/;use_ssl=true;user_id=etl;user_agent=nightly;x-databricks-cluster-id=0123',
    );
    expect(r).toEqual({
      host: 'spark.example.com',
      port: 15002,
      useSsl: true,
      userId: 'etl',
      userAgent: 'nightly',
      headers: { 'x-databricks-cluster-id': '0123' },
    });
  });

  it('takes a token to mean TLS and a bearer header, and never shows it', () => {
    const s = 'sc://dbc.example.com:443/;token=dapi-secret;x-databricks-cluster-id=abc';
    const r = parseRemote(s);
    expect(r.token).toBe('dapi-secret');
    expect(r.useSsl).toBe(true);
    expect(endpointOf(r)).toBe('sc://dbc.example.com:443');
    expect(redactRemote(s)).toBe('sc://dbc.example.com:443/;token=***;x-databricks-cluster-id=abc');
  });

  it('keeps a given session id, which must be a UUID', () => {
    expect(parseRemote('sc://h/;session_id=8d6a2f5e-1a0b-4c3d-9e8f-001122334455').sessionId).toBe(
      '8d6a2f5e-1a0b-4c3d-9e8f-001122334455',
    );
    expect(() => parseRemote('sc://h/;session_id=abc')).toThrow(/session_id must be a UUID/);
  });

  it('rejects malformed strings with a CONFIG_INVALID error naming the setting, without the token', () => {
    for (const bad of [
      'http://h:15002',
      'sc://h:99999',
      'sc://h/path',
      'sc://h/;use_ssl=yes',
      'sc://h/;token',
      'sc://',
    ]) {
      let err: unknown;
      try {
        parseRemote(bad);
      } catch (e) {
        err = e;
      }
      expect(err, bad).toBeInstanceOf(RecountError);
      expect((err as RecountError).code).toBe('CONFIG_INVALID');
      expect((err as RecountError).subject).toBe('engine.spark.remote');
      expect((err as RecountError).hint).toMatch(/sc:\/\/host:port/);
    }
    try {
      parseRemote('sc://h:0/;token=s3cret');
    } catch (e) {
      expect((e as Error).message).not.toContain('s3cret');
    }
  });
});
