/** What a lint rule looks for. */
export type LintRule =
  | 'nondeterministic-function'
  | 'limit-without-order'
  | 'limit-order-not-unique'
  | 'window-without-order'
  | 'approximate-aggregate'
  | 'distinct-on-without-order'
  | 'sample-without-seed'
  | 'order-dependent-aggregate'
  | 'float-key'
  | 'select-star';

/** One finding: errors make a rerun disagree with the published rows; warnings are risks worth a look. */
export interface LintFinding {
  readonly rule: LintRule;
  readonly severity: 'error' | 'warning';
  readonly message: string;
  /** 1-based line of the SQL the finding points at, when DuckDB's parser says where. */
  readonly line?: number;
}
