// Worker-thread entry: TypeScript through tsx (a worker does not take --import), then the thread itself.
import { register } from 'tsx/esm/api';

register();
await import('./applyIntentThread.ts');
