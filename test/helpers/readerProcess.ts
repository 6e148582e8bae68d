// A reader in its own process (`node --import tsx test/helpers/readerProcess.ts '<json>'`), so it reads on its own
// event loop and threads while another process publishes. It loops until its stdin closes, then prints its tally.
import { filesReader, globReader, type ReaderTally } from './readers.ts';

interface Args {
  readonly mode: 'glob' | 'files';
  readonly name: string;
  readonly glob?: string;
  readonly outputRoot?: string;
  readonly analyzer?: string;
  readonly partition?: string;
  readonly complete: string[];
  readonly a: string;
  readonly b: string;
  readonly pauseMs?: number;
}

const args = JSON.parse(process.argv[2]!) as Args;
let done = false;
process.stdin.on('data', () => undefined);
process.stdin.on('end', () => (done = true));
process.stdin.on('close', () => (done = true));
process.stdout.write('ready\n');
const loop = { complete: new Set(args.complete), a: args.a, b: args.b, stop: () => done, pauseMs: args.pauseMs };
const tally: ReaderTally =
  args.mode === 'glob'
    ? await globReader(args.name, args.glob!, loop)
    : await filesReader(args.name, args.outputRoot!, args.analyzer!, args.partition!, loop);
process.stdout.write(`${JSON.stringify(tally)}\n`);
