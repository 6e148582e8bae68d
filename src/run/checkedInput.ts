import type { ResolvedInput } from '../catalog/dataset.ts';
import type { Column } from '../engine/engine.ts';

/** An input with the schema its files were read with. */
export interface CheckedInput extends ResolvedInput {
  readonly schema: Column[];
}
