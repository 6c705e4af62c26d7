/** A small worker pool for the CLI: file checks and uploads, a few at a time. */

/**
 * Runs `work` over `items`, at most `concurrency` at a time. The first error thrown (authentication,
 * unreachable) stops new work and is returned once what is in flight has finished; `undefined` when
 * every item was worked.
 */
export async function pool<T>(
  items: T[],
  concurrency: number,
  work: (item: T, index: number) => Promise<void>,
): Promise<unknown> {
  let next = 0;
  let fatal: unknown;
  const worker = async () => {
    while (fatal === undefined && next < items.length) {
      const index = next++;
      try {
        await work(items[index] as T, index);
      } catch (error) {
        fatal ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return fatal;
}
