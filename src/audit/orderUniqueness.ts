type Node = Record<string, unknown>;

/** An expression as a comparable key: a column by its last name part, anything else by its tree without positions and aliases. */
function exprKey(e: Node): string {
  if (e.class === 'COLUMN_REF') return String((e.column_names as string[]).at(-1)).toLowerCase();
  return JSON.stringify(e, (k, v) => (k === 'query_location' || k === 'alias' ? undefined : v));
}

/** `ORDER BY 2` / `GROUP BY 1`: the select-list item a position names, if the expression is one. */
function positional(e: Node, selectList: readonly Node[]): Node | undefined {
  if (e.class !== 'CONSTANT') return undefined;
  const v = (e.value as { value?: unknown } | undefined)?.value;
  return typeof v === 'number' && Number.isInteger(v) ? selectList[v - 1] : undefined;
}

/** Every name an expression goes by in a SELECT: itself, the select item a position or an alias names, and that item's alias. */
function namesOf(e: Node, selectList: readonly Node[]): Set<string> {
  const names = new Set<string>();
  const item = positional(e, selectList) ?? e;
  names.add(exprKey(item));
  for (const s of selectList) {
    const alias = typeof s.alias === 'string' && s.alias ? s.alias.toLowerCase() : undefined;
    if (exprKey(s) === exprKey(item) && alias) names.add(alias);
    if (alias && item.class === 'COLUMN_REF' && exprKey(item) === alias) names.add(exprKey(s));
  }
  return names;
}

/**
 * Whether an ORDER BY makes the rows of a SELECT_NODE a strict order, so a LIMIT keeps the same rows on every
 * run: it covers every GROUP BY expression (each group is one row), every column of a SELECT DISTINCT, or the
 * analyzer's keys (unique in its output). Anything else may tie; undefined `keys` means none were declared.
 */
export function orderIsUnique(node: Node, orders: readonly Node[], keys?: readonly string[]): boolean {
  const selectList = (node.select_list as Node[] | undefined) ?? [];
  const ordered = new Set(orders.flatMap((o) => [...namesOf(o.expression as Node, selectList)]));
  const covers = (exprs: readonly Node[]) =>
    exprs.length > 0 && exprs.every((g) => [...namesOf(g, selectList)].some((name) => ordered.has(name)));
  if (keys?.length && keys.every((k) => ordered.has(k.toLowerCase()))) return true;
  if (node.type !== 'SELECT_NODE') return false;
  if (covers((node.group_expressions as Node[] | undefined) ?? [])) return true;
  const distinct = ((node.modifiers as Node[] | undefined) ?? []).some(
    (m) => m.type === 'DISTINCT_MODIFIER' && !(m.distinct_on_targets as unknown[] | undefined)?.length,
  );
  return distinct && covers(selectList.filter((s) => s.class !== 'STAR'));
}

/** The ORDER BY expressions for a message: `ad_id, n DESC`. */
export function describeOrders(orders: readonly Node[]): string {
  return orders
    .map((o) => {
      const e = o.expression as Node;
      const name =
        e.class === 'COLUMN_REF'
          ? (e.column_names as string[]).join('.')
          : e.class === 'CONSTANT'
            ? String((e.value as { value?: unknown }).value)
            : 'an expression';
      return `${name}${o.type === 'ORDER_DESCENDING' ? ' DESC' : ''}`;
    })
    .join(', ');
}
