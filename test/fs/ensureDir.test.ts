import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureDirDurable } from '../../src/fs/ensureDir.ts';
import { fsyncPath } from '../../src/fs/fsync.ts';
import { OutputLayout } from '../../src/commit/paths.ts';
import { swapPublishedLink } from '../../src/commit/publish.ts';

// A folder made by mkdir is durable only once its parent is flushed: every level the publish path creates
// (the published path's parents, .recount/tmp, a version's partition folder, staging) is flushed in its parent.
describe('folders created on the publish path are flushed in their parents', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'recount-ensuredir-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('every created level has its parent flushed, top down; existing levels are left alone', () => {
    const flushed: string[] = [];
    const flush = (p: string) => {
      fsyncPath(p);
      flushed.push(p);
    };
    const target = join(dir, 'out', 'a', 'dt=2023-10-12');
    expect(ensureDirDurable(target, flush)).toEqual([join(dir, 'out'), join(dir, 'out', 'a'), target]);
    expect(flushed).toEqual([dir, join(dir, 'out'), join(dir, 'out', 'a')]);
    expect(statSync(target).isDirectory()).toBe(true);
    flushed.length = 0;
    expect(ensureDirDurable(target, flush)).toEqual([]);
    expect(ensureDirDurable(join(target, 'hour=00'), flush)).toEqual([join(target, 'hour=00')]);
    expect(flushed).toEqual([target]);
  });

  it("a first publish creates the published path's folders and .recount/tmp durably", () => {
    const layout = new OutputLayout(join(dir, 'out'));
    const version = join(dir, 'out', '.recount', 'versions', 'a', '2023-10-12T00', 'v000001');
    ensureDirDurable(version);
    swapPublishedLink(layout, layout.publishedPath('a', '2023-10-12T00'), version);
    expect(statSync(join(layout.publishedPath('a', '2023-10-12T00'), '.')).isDirectory()).toBe(true);
  });
});
