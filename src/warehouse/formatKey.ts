/** The same key printed for people: (a=1, b=x). */
export function formatKey(key: Record<string, string | null>): string {
  return `(${Object.entries(key)
    .map(([k, v]) => `${k}=${v ?? 'NULL'}`)
    .join(', ')})`;
}
