/**
 * The agent's own figures, sent with every poll (src/domain/agent-figures.ts) so the controller can export them:
 * an agent inside a secure backend opens no port of its own. Failed runtime calls are counted by wrapping the
 * runtime; free space is read with statfs (one system call per storage per poll).
 */
import { statfs } from "node:fs/promises";
import type { AgentFigures, AgentStorage } from "../domain/agent-figures.js";
import type { Runtime } from "./runtime/types.js";

export class AgentFiguresSource {
  private runtimeErrors = 0;

  constructor(private readonly storages: Readonly<Record<AgentStorage, string>>) {}

  /**
   * The runtime, each failed call counted. A Proxy rather than a wrapper per method, so a method added to the
   * Runtime contract is counted too.
   */
  counting(runtime: Runtime): Runtime {
    return new Proxy(runtime, {
      get: (target, property, receiver) => {
        const value = Reflect.get(target, property, receiver);
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => {
          const result = value.apply(target, args);
          if (result instanceof Promise)
            result.catch(() => {
              this.runtimeErrors += 1;
            });
          return result;
        };
      },
    });
  }

  /** The figures now; a storage whose file system cannot be read is left out. */
  async read(runningJobs: number): Promise<AgentFigures> {
    const free: AgentFigures["storage_free_bytes"] = {};
    for (const [storage, path] of Object.entries(this.storages) as [AgentStorage, string][]) {
      try {
        const stats = await statfs(path);
        free[storage] = stats.bavail * stats.bsize;
      } catch {
        // Not there yet (nothing written), or unreadable: nothing to report.
      }
    }
    return { running_jobs: runningJobs, runtime_errors: this.runtimeErrors, storage_free_bytes: free };
  }
}
