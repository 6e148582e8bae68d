import { describe, expect, it } from 'vitest';
import { sessionJobsEnded, sparkUiOf } from '../../src/engine/spark/sparkUi.ts';

// Waiting for a dead attempt's tasks against a real driver is test/crash/spark/deadAttemptJob.test.ts and the
// Spark random-kill test; these are the cases no Spark server is needed for.
describe('the Spark UI of a dead attempt', () => {
  it('is found from the session settings, and is none when the UI is off', () => {
    expect(sparkUiOf('spark.example', { 'spark.app.id': 'app-1', 'spark.ui.port': '4041' })).toEqual({
      url: 'http://spark.example:4041',
      appId: 'app-1',
    });
    expect(sparkUiOf('::1', { 'spark.app.id': 'app-1' })?.url).toBe('http://[::1]:4040');
    expect(sparkUiOf('h', { 'spark.app.id': 'app-1', 'spark.ui.enabled': 'false' })).toBeUndefined();
    expect(sparkUiOf('h', {})).toBeUndefined();
  });

  it('a UI that does not answer cannot tell the jobs ended: false (recovery then warns and goes on)', async () => {
    expect(await sessionJobsEnded({ url: 'http://127.0.0.1:1', appId: 'app-1' }, 'a-session', 1_000)).toBe(false);
  });
});
