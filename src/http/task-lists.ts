/**
 * Each backend's `GET /{backend}/tasks/` answer, kept rendered until its active tasks change, and the long poll our
 * agent makes of it (`?wait=SECONDS`: answered once the list differs from the one the agent has, or after the wait).
 *
 * Kept, never stale: a request first compares the database's change stamp (SQLite: no query), and when the database
 * may have changed, the backend's task stamp (`TaskStore.activeStamp`, one index-only read); only a changed list is
 * read and rendered again. Both stamps see every writer: this process, the scheduler in a worker thread, `rap tick`,
 * another replica. The task stamp is also the list's tag (the answer's ETag to a waiting poll).
 *
 * Waiting costs no busy loop: a waiting poll checks again when this process changed the backend's tasks (`touched`),
 * and otherwise every RECHECK_MS (the cheap change stamp first) or SLOW_RECHECK_MS where the database has no change
 * stamp (PostgreSQL: a task stamp query each time). `close` answers every waiting poll at once.
 */
import type { ActiveTaskText, Storage } from "../db/storage.js";

export interface TaskList {
  /** The answer's bytes: `{"tasks": [...]}`. */
  readonly body: Buffer;
  /** Changes whenever the list does (an opaque quoted string, the answer's ETag to a waiting poll). */
  readonly tag: string;
  readonly count: number;
}

/** How often a waiting poll looks again, when the database has a change stamp (a few microseconds a look). */
export const RECHECK_MS = 25;
/** The same without a change stamp: each look is a query. */
export const SLOW_RECHECK_MS = 250;

interface Kept {
  list: TaskList;
  /** The database's change stamp when `list` was last known to be current (undefined: none). */
  dbStamp: string | undefined;
}

export class TaskLists {
  private readonly kept = new Map<string, Kept>();
  /** Waiting polls' wake-ups, by backend. */
  private readonly waiting = new Map<string, Set<() => void>>();
  private readonly closing = new AbortController();

  constructor(private readonly storage: Storage) {}

  /** The backend's list as it stands. */
  async current(backend: string): Promise<TaskList> {
    const dbStamp = this.storage.changeStamp();
    const kept = this.kept.get(backend);
    if (kept && dbStamp !== undefined && kept.dbStamp === dbStamp) return kept.list;
    // The stamp before the tasks: a change in between makes the next request look again, never keeps a stale list.
    const tag = `"${await this.storage.tasks.activeStamp(backend)}"`;
    if (kept?.list.tag === tag) {
      kept.dbStamp = dbStamp;
      return kept.list;
    }
    const tasks = await this.storage.tasks.activeText(backend);
    const list = { body: Buffer.from(render(tasks)), tag, count: tasks.length };
    this.kept.set(backend, { list, dbStamp });
    return list;
  }

  /**
   * The backend's list once its tag differs from `known` (at once if it does already), or the list as it stands
   * after `waitMs`, when `gone` aborts (the client left) or when the lists close (the last list known, no query).
   */
  async changedFrom(
    backend: string,
    known: string | undefined,
    waitMs: number,
    gone: AbortSignal,
  ): Promise<TaskList> {
    const deadline = Date.now() + waitMs;
    let list = await this.current(backend);
    while (list.tag === known && !gone.aborted && !this.closing.signal.aborted) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      const recheckMs = this.storage.changeStamp() === undefined ? SLOW_RECHECK_MS : RECHECK_MS;
      await this.pause(backend, Math.min(left, recheckMs), gone);
      if (this.closing.signal.aborted) break;
      list = await this.current(backend);
    }
    return list;
  }

  /** This process changed the backend's tasks: its waiting polls look again now. */
  touched(backend: string): void {
    for (const wake of this.waiting.get(backend) ?? []) wake();
  }

  /** Answers every waiting poll now, and from now on at once. */
  close(): void {
    this.closing.abort();
  }

  /** Resolves after `ms`, or earlier when touched, closed or `gone`. */
  private pause(backend: string, ms: number, gone: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const wakes = this.waiting.get(backend) ?? new Set<() => void>();
      this.waiting.set(backend, wakes);
      const wake = () => {
        clearTimeout(timer);
        wakes.delete(wake);
        if (wakes.size === 0) this.waiting.delete(backend);
        gone.removeEventListener("abort", wake);
        this.closing.signal.removeEventListener("abort", wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      wakes.add(wake);
      gone.addEventListener("abort", wake);
      this.closing.signal.addEventListener("abort", wake);
    });
  }
}

/** Stored definitions and attributes are ASCII JSON already (src/db/queries/tasks.ts); ids and names are ASCII. */
function render(tasks: readonly ActiveTaskText[]): string {
  return `{"tasks":[${tasks
    .map(
      (t) =>
        `{"id":${JSON.stringify(t.id)},"backend":${JSON.stringify(t.backend)},"type":${JSON.stringify(t.type)},` +
        `"definition":${t.definition},"attributes":${t.attributes},"created_at":${t.created_at}}`,
    )
    .join(",")}]}`;
}
