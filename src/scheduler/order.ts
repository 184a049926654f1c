/**
 * The order the scheduler handles active jobs in (reference/controller.md §2.3): running jobs first, then pending
 * ones, fairly between workspaces. The reference re-sorts the whole list after every job by
 * (running first, jobs already running in the job's backend+workspace this pass, database jobs first, oldest first);
 * this yields the same order with one queue per workspace and a heap over workspaces: O(n log w) instead of
 * O(n² log n), which is what lets a pass over 10,000 jobs take milliseconds.
 */
import type { Job } from "../domain/job.js";
import { State } from "../domain/status.js";
import { workspaceKey } from "./job-index.js";

interface Entry {
  job: Job;
  /** Position in the loaded list: the reference's sort is stable. */
  index: number;
}

interface Workspace {
  key: string;
  queue: Entry[];
  /** Next unhandled position in `queue`. */
  next: number;
  runningThisPass: number;
}

function compareEntries(a: Entry, b: Entry): number {
  return (
    Number(a.job.state !== State.Running) - Number(b.job.state !== State.Running) ||
    Number(!a.job.requiresDb) - Number(!b.job.requiresDb) ||
    a.job.createdAt - b.job.createdAt ||
    a.index - b.index
  );
}

function compareWorkspaces(a: Workspace, b: Workspace): number {
  const x = a.queue[a.next]!;
  const y = b.queue[b.next]!;
  return (
    Number(x.job.state !== State.Running) - Number(y.job.state !== State.Running) ||
    a.runningThisPass - b.runningThisPass ||
    compareEntries(x, y)
  );
}

/** A binary min-heap of workspaces by their next job. */
class WorkspaceHeap {
  private readonly items: Workspace[] = [];

  get size(): number {
    return this.items.length;
  }

  push(item: Workspace): void {
    const items = this.items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (compareWorkspaces(items[i]!, items[parent]!) >= 0) break;
      [items[i], items[parent]] = [items[parent]!, items[i]!];
      i = parent;
    }
  }

  pop(): Workspace | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < items.length && compareWorkspaces(items[left]!, items[smallest]!) < 0) smallest = left;
        if (right < items.length && compareWorkspaces(items[right]!, items[smallest]!) < 0) smallest = right;
        if (smallest === i) break;
        [items[i], items[smallest]] = [items[smallest]!, items[i]!];
        i = smallest;
      }
    }
    return top;
  }
}

/**
 * Yields the jobs in handling order. After handling a job the caller reports whether it is running now
 * (`done(running)`): a started job moves its workspace behind the others for the rest of the pass. When the pass
 * handles only some jobs (src/scheduler/affected.ts), `runningElsewhere` counts, by workspace (`backend\nworkspace`),
 * the running jobs it leaves alone: each counts as a running job handled, which is what it would have been.
 */
export function* handlingOrder(
  jobs: readonly Job[],
  runningElsewhere: ReadonlyMap<string, number> = new Map(),
): Generator<Job, void, boolean> {
  const byWorkspace = new Map<string, Workspace>();
  jobs.forEach((job, index) => {
    const key = workspaceKey(job);
    let workspace = byWorkspace.get(key);
    if (!workspace) {
      workspace = { key, queue: [], next: 0, runningThisPass: runningElsewhere.get(key) ?? 0 };
      byWorkspace.set(key, workspace);
    }
    workspace.queue.push({ job, index });
  });
  const heap = new WorkspaceHeap();
  for (const workspace of byWorkspace.values()) {
    workspace.queue.sort(compareEntries);
    heap.push(workspace);
  }
  while (heap.size > 0) {
    const workspace = heap.pop()!;
    const entry = workspace.queue[workspace.next++]!;
    const running: boolean = yield entry.job;
    if (running) workspace.runningThisPass += 1;
    if (workspace.next < workspace.queue.length) heap.push(workspace);
  }
}
