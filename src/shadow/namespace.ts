import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RecountError } from '../errors.ts';
import type { OutputLayout } from '../commit/paths.ts';

/** What `shadow.json` records about a namespace. */
export interface ShadowMeta {
  readonly format: 'recount.shadow/1';
  readonly name: string;
  readonly analyzer: string;
  readonly definition: string;
  /** sha256 of the candidate definition the namespace's runs were made from (absent in namespaces made before it was recorded). */
  readonly definitionSha256?: string;
  /** The engine the runs were made on (absent in namespaces made before it was recorded: the project's). */
  readonly engine?: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly partitions: string[];
}

/** A namespace on disk: where its output, state and description live. */
export interface Namespace {
  readonly name: string;
  readonly dir: string;
  /** Output root of the namespace's own published paths and versions. */
  readonly outputRoot: string;
  readonly stateFile: string;
  readonly metaFile: string;
}

const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$/;

/** Folder holding every shadow namespace: `<output>/.recount/shadow`, outside any reader's glob. */
export function shadowRoot(layout: OutputLayout): string {
  return join(layout.internal, 'shadow');
}

/** The namespace called `name` (a USAGE error for a name that is not a plain folder name). */
export function shadowNamespace(layout: OutputLayout, name: string): Namespace {
  if (!NAME.test(name) || name.includes('..')) {
    throw new RecountError('USAGE', `shadow name '${name}' is not a plain name`, {
      subject: name,
      hint: 'use letters, digits, _ . and - (it becomes a folder under <output>/.recount/shadow/)',
    });
  }
  const dir = join(shadowRoot(layout), name);
  return {
    name,
    dir,
    outputRoot: join(dir, 'out'),
    stateFile: join(dir, 'state.db'),
    metaFile: join(dir, 'shadow.json'),
  };
}

/** Read a namespace's description, if it has one. */
export function readMeta(ns: Namespace): ShadowMeta | undefined {
  if (!existsSync(ns.metaFile)) return undefined;
  try {
    return JSON.parse(readFileSync(ns.metaFile, 'utf8')) as ShadowMeta;
  } catch {
    return undefined;
  }
}

/** Create or update a namespace's description; the partitions run are added to those already there. */
export function touchMeta(
  ns: Namespace,
  m: {
    analyzer: string;
    definition: string;
    definitionSha256?: string;
    engine?: string;
    partitions: readonly string[];
  },
  now = new Date(),
): ShadowMeta {
  mkdirSync(ns.dir, { recursive: true });
  const before = readMeta(ns);
  const meta: ShadowMeta = {
    format: 'recount.shadow/1',
    name: ns.name,
    analyzer: m.analyzer,
    definition: m.definition,
    ...(m.definitionSha256 ? { definitionSha256: m.definitionSha256 } : {}),
    ...(m.engine ? { engine: m.engine } : {}),
    createdAt: before?.createdAt ?? now.toISOString(),
    updatedAt: now.toISOString(),
    partitions: [...new Set([...(before?.partitions ?? []), ...m.partitions])].sort(),
  };
  writeFileSync(ns.metaFile, `${JSON.stringify(meta, null, 2)}\n`);
  return meta;
}

/** A namespace found on disk, with when it was last used (its description's updatedAt, else the folder's mtime). */
export interface ListedNamespace {
  readonly ns: Namespace;
  readonly meta: ShadowMeta | undefined;
  readonly lastUsed: Date;
}

/** Every shadow namespace under an output root. */
export function listShadows(layout: OutputLayout): ListedNamespace[] {
  const root = shadowRoot(layout);
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((name) => NAME.test(name))
    .map((name) => {
      const ns = shadowNamespace(layout, name);
      const meta = readMeta(ns);
      const lastUsed = meta ? new Date(meta.updatedAt) : statSync(ns.dir).mtime;
      return { ns, meta, lastUsed: Number.isNaN(lastUsed.getTime()) ? statSync(ns.dir).mtime : lastUsed };
    })
    .sort((a, b) => a.ns.name.localeCompare(b.ns.name));
}

/** Remove a namespace and everything in it; a USAGE error (exit 2) naming the ones there are when there is none by that name. */
export function dropShadow(layout: OutputLayout, name: string): void {
  const ns = shadowNamespace(layout, name);
  if (!existsSync(ns.dir)) {
    const names = listShadows(layout).map((l) => l.ns.name);
    throw new RecountError('USAGE', `no shadow namespace named '${name}'`, {
      subject: name,
      hint: names.length ? `shadow namespaces: ${names.join(', ')}` : 'there are no shadow namespaces',
    });
  }
  rmSync(ns.dir, { recursive: true, force: true });
}

/**
 * Refuse to run a candidate into a namespace that holds runs of another analyzer or another definition: its
 * version numbers would carry on and its partitions mix the two. Rerunning the same definition is fine.
 */
export function assertSameDefinition(
  ns: Namespace,
  m: { analyzer: string; definition: string; definitionSha256: string },
): void {
  const before = readMeta(ns);
  if (!before) return;
  const other =
    before.analyzer !== m.analyzer
      ? `analyzer ${before.analyzer}`
      : before.definitionSha256
        ? before.definitionSha256 !== m.definitionSha256
          ? `another definition (${before.definition}, as it was then)`
          : undefined
        : before.definition !== m.definition
          ? `another definition file (${before.definition})`
          : undefined;
  if (!other) return;
  throw new RecountError(
    'USAGE',
    `shadow namespace '${ns.name}' holds runs of ${other}, not of this candidate for ${m.analyzer}`,
    {
      subject: ns.dir,
      hint: `pick another --name, or drop it first: recount shadow --drop ${ns.name}`,
    },
  );
}
