// Worker process entry: runs attempts for `recount serve` in a child process with its own memory limits.
import { importEntry } from './bundle.js';

await importEntry('worker');
