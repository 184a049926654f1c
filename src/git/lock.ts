/**
 * Per-repository serialisation inside this process: operations that write to one cache directory (init, fetch,
 * marker tag) run one at a time, in arrival order. Other processes sharing the cache rely on git's own lock files;
 * a collision there fails that fetch with an error instead of corrupting the repository.
 */

const tails = new Map<string, Promise<void>>();

export async function withRepoLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const previous = tails.get(key) ?? Promise.resolve();
  let release!: () => void;
  const current = new Promise<void>((resolve) => {
    release = resolve;
  });
  const tail = previous.then(() => current);
  tails.set(key, tail);
  await previous;
  try {
    return await fn();
  } finally {
    release();
    if (tails.get(key) === tail) tails.delete(key);
  }
}
