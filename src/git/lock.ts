/**
 * Serialisation inside this process: operations under one key run one at a time, in arrival order. Git uses it per
 * repository (init, fetch, marker tag write one cache directory; other processes sharing the cache rely on git's own
 * lock files, where a collision fails that fetch with an error instead of corrupting the repository); the agent uses
 * it per workspace manifest.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const current = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => current);
    this.tails.set(key, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}

const repositories = new KeyedLock();

export function withRepoLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
  return repositories.run(key, fn);
}
