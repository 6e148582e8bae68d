import { describe, expect, it } from 'vitest';
import { buildProject } from '../../../src/config/project.ts';
import { checkSparkEndpoints } from '../../../src/doctor/sparkEndpoint.ts';
import { sparkRemote } from '../../spark/remote.ts';

const project = (remote: string) =>
  buildProject(
    '/proj',
    'recount.config.ts',
    { datasets: { events: { root: 'data/events', grain: 'hour' } }, engine: { spark: { remote } } },
    [
      {
        file: 'analyzers/hourly.ts',
        value: { name: 'hourly', inputs: ['events'], grain: 'hour', sql: 'SELECT 1 AS a' },
      },
      {
        file: 'analyzers/local.ts',
        value: { name: 'local', inputs: ['events'], grain: 'hour', sql: 'SELECT 1 AS a', engine: 'duckdb' },
      },
    ],
    {},
  );

describe('doctor: the Spark Connect endpoints of the project', () => {
  it('an endpoint that answers is ok, with its Spark version and the analyzers on it', async () => {
    const [f, ...rest] = await checkSparkEndpoints(project(sparkRemote()));
    expect(rest).toEqual([]);
    expect(f).toMatchObject({ check: 'spark-endpoint', status: 'ok', details: { analyzers: ['hourly'] } });
    expect(f!.message).toMatch(/Spark 4\.\d/);
  });

  it('an endpoint that does not answer is a problem naming it, the analyzers and what to do', async () => {
    const [f] = await checkSparkEndpoints(project('sc://127.0.0.1:9'), 5_000);
    expect(f).toMatchObject({ check: 'spark-endpoint', status: 'problem', subject: 'sc://127.0.0.1:9' });
    expect(f!.message).toContain('hourly');
    expect(f!.hint).toContain('sc://127.0.0.1:9');
  });
});
