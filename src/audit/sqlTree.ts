/** A node of the tree DuckDB's json_serialize_sql returns: an object of fields, some of them nodes or lists of nodes. */
export type SqlNode = Record<string, unknown>;

/** Call `visit` on every node of a json_serialize_sql tree, parents before their children, in field order. */
export function walkSqlTree(value: unknown, visit: (node: SqlNode) => void): void {
  if (Array.isArray(value)) {
    for (const item of value) walkSqlTree(item, visit);
    return;
  }
  if (!value || typeof value !== 'object') return;
  const node = value as SqlNode;
  visit(node);
  for (const v of Object.values(node)) walkSqlTree(v, visit);
}

/** True when a function call orders its input rows (`string_agg(x ORDER BY y)`). */
export function hasOrderBy(node: SqlNode): boolean {
  const orders = (node.order_bys as { orders?: unknown[] } | undefined)?.orders;
  return Array.isArray(orders) && orders.length > 0;
}
