import type { PlannableProject } from "./plannable.js";

/**
 * Parsed project.yaml files by repository and commit. A commit's content never changes, so a cached parse can never
 * be stale; it saves a git process and a parse on every create for a commit seen before (job-server submits many
 * RAPs against the same commit). Bounded, least recently used first out. Projects are shared: read-only.
 */
export class ProjectCache {
  readonly #entries = new Map<string, PlannableProject>();

  constructor(private readonly capacity = 32) {}

  async get(
    repoUrl: string,
    commit: string,
    load: () => Promise<PlannableProject>,
  ): Promise<PlannableProject> {
    const key = `${repoUrl}\u0000${commit}`;
    const cached = this.#entries.get(key);
    if (cached) {
      // Re-insert so the entry becomes the most recently used.
      this.#entries.delete(key);
      this.#entries.set(key, cached);
      return cached;
    }
    const pipeline = await load();
    this.#entries.set(key, pipeline);
    if (this.#entries.size > this.capacity) this.#entries.delete(this.#entries.keys().next().value!);
    return pipeline;
  }
}
