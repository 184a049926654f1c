/**
 * The scheduler's reads as both dialects answer them (src/db/sqlite/scheduler-reads.ts and
 * src/db/postgres/scheduler-reads.ts): a job is read as one text value, its whole row as a JSON object with its
 * `seq`, and the ChangeFeed's answer (src/db/storage.ts) is put together here from each dialect's statements. Only
 * the SQL differs between the dialects.
 */
import type { Selectable } from "kysely";
import { isActiveState } from "../../domain/status.js";
import type { JobTable } from "../schema.js";
import type { ChangeMark, SchedulerChanges, SequencedJob } from "../storage.js";
import { toJob } from "./jobs.js";
import type { TaskProgress } from "./tasks.js";

/** A job row read as a JSON object (with `seq`), as a job and its insertion order. */
export function sequencedJobFromText(text: string): SequencedJob {
  const row = JSON.parse(text) as Selectable<JobTable>;
  return { job: toJob(row), seq: Number(row.seq) };
}

/** The statements a dialect answers a ChangeFeed read with. */
export interface ChangeReads<D> {
  changeMark(db: D): Promise<ChangeMark>;
  activeJobs(db: D): Promise<SequencedJob[]>;
  jobsChangedSince(db: D, mark: ChangeMark): Promise<SequencedJob[]>;
  runJobTasksOf(db: D, jobIds: readonly string[]): Promise<TaskProgress[]>;
  runJobTasksChangedSince(db: D, mark: ChangeMark): Promise<TaskProgress[]>;
}

/**
 * A ChangeFeed read: the mark first, then the rows, each statement on its own snapshot, so whatever a statement
 * misses of a write committed meanwhile comes again from the mark. A mark behind the one asked for (the database
 * went back: a restored copy) cannot be trusted, and the answer is a full read.
 */
export async function readChanges<D>(
  reads: ChangeReads<D>,
  db: D,
  since?: ChangeMark,
): Promise<SchedulerChanges> {
  const mark = await reads.changeMark(db);
  if (since === undefined || mark < since) {
    const jobs = await reads.activeJobs(db);
    const tasks = await reads.runJobTasksOf(
      db,
      jobs.map(({ job }) => job.id),
    );
    return { mark, full: true, jobs, tasks };
  }
  const jobs = (await reads.jobsChangedSince(db, since)).sort((a, b) => a.seq - b.seq);
  const written = await reads.runJobTasksChangedSince(db, since);
  // Of a job that changed, every task: the caller may not have known it (a job created since the last read).
  const active = jobs.filter(({ job }) => isActiveState(job.state)).map(({ job }) => job.id);
  const ofChanged = await reads.runJobTasksOf(db, active);
  const seen = new Set(ofChanged.map((task) => task.id));
  return { mark, full: false, jobs, tasks: [...ofChanged, ...written.filter((task) => !seen.has(task.id))] };
}
