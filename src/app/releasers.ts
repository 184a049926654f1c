/**
 * Resources registered as they are opened and released in reverse order. Each release runs in its own try/catch,
 * so one failing step (a server that will not close) never stops the database closing or the last spans being sent.
 */
export class Releasers {
  private readonly steps: Array<{ name: string; release: () => unknown }> = [];

  add(name: string, release: () => unknown): void {
    this.steps.push({ name, release });
  }

  /** Releases everything, newest first; returns the failures (also reported through `onError`). */
  async releaseAll(onError: (name: string, error: unknown) => void): Promise<number> {
    let failures = 0;
    for (const { name, release } of this.steps.splice(0).reverse()) {
      try {
        await release();
      } catch (error) {
        failures += 1;
        onError(name, error);
      }
    }
    return failures;
  }
}
