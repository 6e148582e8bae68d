/** Quote a SQL string literal. */
export function lit(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** Quote a SQL identifier. */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A SQL list literal of file paths, for read_parquet([...]). */
export function fileList(paths: readonly string[]): string {
  return `[${paths.map(lit).join(', ')}]`;
}
