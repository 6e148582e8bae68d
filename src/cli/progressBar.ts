import cliProgress from 'cli-progress';

/**
 * A progress bar over partitions on stderr, counting one more figure (`failed`, `differing`) beside the partition
 * it is at; none under --json or when stderr is not a terminal (then each partition gets a line of its own).
 */
export function partitionProgressBar(json: boolean, counter: string): cliProgress.SingleBar | undefined {
  if (json || !process.stderr.isTTY) return undefined;
  return new cliProgress.SingleBar(
    {
      format: ` {bar} {value}/{total} partitions | {partition} | ${counter}: {${counter}}`,
      stream: process.stderr,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
}
