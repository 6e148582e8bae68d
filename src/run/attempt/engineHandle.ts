import type { Engine, EngineSession } from '../../engine/engine.ts';
import { EngineSampler } from '../../engine/engineSampler.ts';
import { MemorySampler } from '../../process/memorySampler.ts';
import type { Attempt } from './attempt.ts';

/** The engine's peak memory and spill during an attempt. */
export interface EnginePeaks {
  readonly peakMemoryBytes: number;
  readonly peakSpillBytes: number;
}

const NO_PEAKS: EnginePeaks = { peakMemoryBytes: 0, peakSpillBytes: 0 };

/**
 * The attempt's engine session and its memory samplers. The engine starts (a new DuckDB instance, on its own
 * threads) as soon as the attempt is planned, while the state store records the attempt: on a small partition both
 * are a large part of the run. The session is taken once the attempt needs it, or closed unused.
 */
export class AttemptEngine {
  /** This process's peak RSS over the attempt. */
  readonly sampler = new MemorySampler();
  private readonly opening: Promise<EngineSession>;
  private taken = false;
  private session: EngineSession | undefined;
  private engineSampler: EngineSampler | undefined;

  constructor(engine: Engine, attempt: Pick<Attempt, 'id' | 'memoryBytes' | 'threads' | 'spillDir' | 'sparkConf'>) {
    this.opening = engine.open({
      memoryBytes: attempt.memoryBytes,
      threads: attempt.threads,
      spillDir: attempt.spillDir,
      attemptId: attempt.id,
      ...(attempt.sparkConf ? { conf: attempt.sparkConf } : {}),
    });
    this.opening.catch(() => undefined);
  }

  /** The open session (its failure to open is the attempt's); the engine's memory is sampled from now on. */
  async take(): Promise<EngineSession> {
    this.taken = true;
    this.session = await this.opening;
    this.engineSampler = new EngineSampler(this.session);
    return this.session;
  }

  /** Stop sampling the engine (after a last sample) and return its peaks; none if the session was never taken. */
  async stopEngineSampler(): Promise<EnginePeaks> {
    return this.engineSampler ? await this.engineSampler.stop() : NO_PEAKS;
  }

  /** Close the session once its work is done: the manifest is written and published without it. */
  closeSession(): void {
    this.session?.close();
    this.session = undefined;
  }

  /** Stop every sampler and close the session, taken or not: whatever the attempt's outcome. */
  async release(): Promise<void> {
    this.sampler.stop();
    await this.engineSampler?.stop();
    this.closeSession();
    if (!this.taken) (await this.opening.catch(() => undefined))?.close();
    this.taken = true;
  }
}
