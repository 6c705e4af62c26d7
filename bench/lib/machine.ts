import { availableParallelism, cpus, totalmem } from 'node:os';

/** What a result was measured on, for the committed reports. */
export function describeMachine(): string {
  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  const memory = Math.round(totalmem() / 1024 ** 3);
  return `${cpu}, ${availableParallelism()} cores, ${memory} GiB; Node ${process.version}`;
}
