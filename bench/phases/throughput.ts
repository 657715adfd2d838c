/** A target alone on the machine, under closed-loop load: its req/s and latency at a concurrency. */
import type { LoadResult } from '../load/loops.js';
import type { Plan } from '../plan.js';
import { generateLoad, startTarget, type Target } from '../processes.js';

export interface TargetSpec {
  name: string;
  script: string;
  env: Record<string, string>;
  /** Answers 200 once the target can take load. */
  ready: string;
  /** The process's directory; default the repository. */
  cwd?: string;
}

/**
 * The closed-loop load of the plan against a running target.
 * @example await closedLoad(router, plan, 'a1b2-router')
 */
export function closedLoad(target: Target, plan: Plan, prefix: string): Promise<LoadResult> {
  const { connections, warmupS, durationS } = plan.throughput;
  return generateLoad({ port: target.port, prefix, mode: 'closed', connections, warmupS, durationS }).result;
}

/**
 * Starts the target, measures it, stops it.
 * @example await measureAlone({ name: 'ceiling', script: 'bench/targets/ceiling.ts', env: {}, ready: '/healthz' }, plan, runId)
 */
export async function measureAlone(spec: TargetSpec, plan: Plan, runId: string): Promise<LoadResult> {
  const target = await startTarget(spec.name, spec.script, spec.env, spec.ready, spec.cwd);
  try {
    return await closedLoad(target, plan, `${runId}-${spec.name}`);
  } finally {
    await target.stop();
  }
}
