import { expect } from 'vitest';
import { runPartition } from '../../src/run/runPartition.ts';
import type { TestProject } from './project.ts';

/** Run each (analyzer, partition) in turn in this process, each expected to publish a new version. */
export async function publishRuns(
  tp: TestProject,
  runs: readonly (readonly [analyzer: string, partition: string])[],
): Promise<void> {
  const ctx = await tp.open();
  try {
    for (const [name, partition] of runs)
      expect(
        (await runPartition(ctx, ctx.project.analyzers.get(name)!, partition)).status,
        `${name} ${partition}`,
      ).toBe('succeeded');
  } finally {
    await ctx.close();
  }
}
