import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** What a heap snapshot says is alive in a V8 heap, after the full GC that taking it forces. */
export interface LiveHeap {
  /** Sum of every object's self size, in bytes. */
  readonly totalBytes: number;
  /** Of which compiled code (grows with JIT warm-up, not with a leak). */
  readonly codeBytes: number;
  readonly objects: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sum the self sizes in a .heapsnapshot file. */
export function liveHeapOf(file: string): LiveHeap {
  const s = JSON.parse(readFileSync(file, 'utf8')) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
    nodes: number[];
  };
  const fields = s.snapshot.meta.node_fields;
  const types = s.snapshot.meta.node_types[0];
  const width = fields.length;
  const iType = fields.indexOf('type');
  const iSize = fields.indexOf('self_size');
  let total = 0;
  let code = 0;
  let objects = 0;
  for (let i = 0; i < s.nodes.length; i += width) {
    const size = s.nodes[i + iSize]!;
    total += size;
    objects++;
    if (types[s.nodes[i + iType]!] === 'code') code += size;
  }
  return { totalBytes: total, codeBytes: code, objects };
}

/**
 * Ask a process started with `--heapsnapshot-signal=SIGUSR2` for a heap snapshot, wait until V8 has written
 * it (into one of `dirs`: its --diagnostic-dir), read what is alive, and delete the file.
 */
export async function snapshotLiveHeap(pid: number, dirs: readonly string[], timeoutMs = 120_000): Promise<LiveHeap> {
  const mine = () =>
    dirs.flatMap((d) => {
      try {
        return readdirSync(d)
          .filter((f) => f.endsWith('.heapsnapshot') && f.includes(`.${pid}.`))
          .map((f) => join(d, f));
      } catch {
        return [];
      }
    });
  const before = new Set(mine());
  process.kill(pid, 'SIGUSR2');
  const deadline = Date.now() + timeoutMs;
  let lastSize = -1;
  while (Date.now() < deadline) {
    await sleep(500);
    const file = mine().find((f) => !before.has(f));
    if (!file) continue;
    const size = statSync(file).size;
    if (size !== lastSize || size === 0) {
      lastSize = size;
      continue;
    }
    try {
      const heap = liveHeapOf(file);
      rmSync(file, { force: true });
      return heap;
    } catch {
      // Still being written: wait for it to grow and settle.
    }
  }
  throw new Error(
    `no heap snapshot from pid ${pid} within ${timeoutMs} ms (is it running with --heapsnapshot-signal=SIGUSR2?)`,
  );
}
