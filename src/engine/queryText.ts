import { RecountError } from '../errors.ts';

/**
 * Where the code of a SQL text ends: the index after its last character that is neither white space nor inside
 * a comment, and the positions of its top-level semicolons. A small lexer (strings '…', identifiers "…",
 * dollar-quoted $$…$$, comments -- and /* … *\/) so a ';' or '--' inside a literal is not taken for one.
 */
function scan(sql: string): { codeEnd: number; semicolons: number[] } {
  let codeEnd = 0;
  const semicolons: number[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === '-' && sql[i + 1] === '-') {
      const nl = sql.indexOf('\n', i);
      i = nl < 0 ? sql.length : nl;
      continue;
    }
    if (c === '/' && sql[i + 1] === '*') {
      const close = sql.indexOf('*/', i + 2);
      i = close < 0 ? sql.length : close + 2;
      continue;
    }
    if (c === "'" || c === '"') {
      let j = i + 1;
      while (j < sql.length) {
        if (sql[j] === c && sql[j + 1] === c) j += 2;
        else if (sql[j] === c) break;
        else j++;
      }
      i = j + 1;
      codeEnd = Math.min(i, sql.length);
      continue;
    }
    if (c === '$') {
      const tag = /^\$[A-Za-z_]*\$/.exec(sql.slice(i))?.[0];
      if (tag) {
        const close = sql.indexOf(tag, i + tag.length);
        i = close < 0 ? sql.length : close + tag.length;
        codeEnd = i;
        continue;
      }
    }
    if (c === ';') semicolons.push(i);
    if (!/\s/.test(c)) codeEnd = i + 1;
    i++;
  }
  return { codeEnd, semicolons };
}

/**
 * An analyzer's or a check's SQL made safe to embed as a subquery (`FROM (\n…\n)`): the semicolons that end it are
 * dropped (a trailing comment stays; the newline around it when embedded keeps it from swallowing the ')').
 * More than one statement is refused, naming `where`.
 */
export function embeddableQuery(sql: string, where: string): string {
  let text = sql;
  for (;;) {
    const { codeEnd, semicolons } = scan(text);
    const last = semicolons.at(-1);
    if (last !== undefined && last === codeEnd - 1) {
      text = text.slice(0, last) + text.slice(last + 1);
      continue;
    }
    if (semicolons.length > 0) {
      throw new RecountError('CONFIG_INVALID', `${where}: holds more than one SQL statement (a ';' before the end)`, {
        subject: where,
        hint: 'an analyzer or check is one SELECT query (WITH … SELECT is fine); remove the extra statement',
      });
    }
    if (codeEnd === 0) {
      throw new RecountError('CONFIG_INVALID', `${where}: is empty (only comments or white space)`, {
        subject: where,
        hint: 'write the SELECT query',
      });
    }
    return text;
  }
}

/** A query as a parenthesised subquery, on lines of its own so a trailing `--` comment ends before the ')'. */
export function subquery(sql: string): string {
  return `(\n${sql}\n)`;
}
