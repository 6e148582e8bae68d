// Worker process entry: runs attempts for `recount serve` in a child process with its own memory limits.
import { register } from 'node:module';
import { register as registerTsx } from 'tsx/esm/api';

registerTsx();
register('./resolve-recount.js', import.meta.url);
await import('../src/worker/workerMain.ts');
