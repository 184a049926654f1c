/**
 * The jobs bench:api and bench:rap-status ask rap/status about: RAPs on backend tpp, each job with a RUNJOB task
 * whose results carry job_metrics, a third of them still running.
 */
import type { DatabaseLocation } from "../src/config/index.js";
import type { Db } from "../src/db/index.js";
import { setFlag } from "../src/db/queries/flags.js";
import { insertJobs } from "../src/db/queries/jobs.js";
import { insertTask, recordAgentUpdate } from "../src/db/queries/tasks.js";
import { deterministicJobId } from "../src/domain/ids.js";
import type { Job } from "../src/domain/job.js";
import { runJobTaskId } from "../src/domain/task.js";
import { openMigrated } from "./postgres.js";

export const BASE_TIME = 1_740_000_000;

/** A project as large as the corpus's largest (disparities-comparison.yaml, `run_all`: 2,191 jobs). */
export const CORPUS_SIZED_JOBS = 2191;
export const CORPUS_SIZED_RAPS = 5;
export const CORPUS_SIZED_PREFIX = "corpus";

export function benchJob(rapId: string, n: number): Job {
  const action = `action_${n}`;
  const finished = n % 3 !== 0;
  return {
    id: deterministicJobId(rapId, action),
    rapId,
    state: finished ? "succeeded" : "running",
    statusCode: finished ? "succeeded" : "executing",
    statusMessage: finished ? "Completed successfully" : "Job executing on the backend",
    repoUrl: "https://github.com/opensafely/bench-study",
    commit: "0123456789abcdef0123456789abcdef01234567",
    branch: "main",
    workspace: "bench-study",
    databaseName: "default",
    action,
    actionRepoUrl: null,
    actionCommit: null,
    requiresOutputsFrom: n === 0 ? [] : ["action_0"],
    waitForJobIds: [],
    runCommand: `python:v2 analysis/step_${n}.py --output output/step_${n}.csv`,
    outputSpec: { moderately_sensitive: { out: `output/step_${n}.csv` } },
    cancelled: false,
    createdAt: BASE_TIME + n,
    updatedAt: BASE_TIME + 100 + n,
    startedAt: BASE_TIME + 10 + n,
    completedAt: finished ? BASE_TIME + 100 + n : null,
    statusCodeUpdatedAt: (BASE_TIME + 100 + n) * 1_000_000_000,
    traceContext: { traceparent: `00-${"0123456789abcdef".repeat(2)}-0123456789abcdef-01` },
    requiresDb: n === 0,
    backend: "tpp",
    user: "bench_user",
    project: "bench-project",
    orgs: ["bench-org"],
    analysisScope: {},
  };
}

/** RAP ids of 16 characters: `prefix` padded with the RAP's number. */
export function rapIds(count: number, prefix = "bench"): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(16 - prefix.length, "0")}`);
}

/** The results an agent reports for a job's task, metrics included. */
export function benchResults(job: Job, cpuPeak = 98.5) {
  return {
    exit_code: 0,
    status_message: "Completed successfully",
    timestamp_ns: job.updatedAt * 1_000_000_000,
    has_unmatched_patterns: false,
    has_level4_excluded_files: false,
    error: false,
    job_metrics: { cpu_peak: cpuPeak, cpu_mean: 42.25, mem_mb_peak: 1536, mem_mb_mean: 812.5 },
  };
}

/**
 * `raps` RAPs of `perRap` jobs, and `extra` more under other ids, each job with its RUNJOB task; the backends'
 * flags as bench:api's backend/status case reads them.
 */
export async function seedStatus(
  location: DatabaseLocation,
  raps: number,
  perRap: number,
  extra: { raps: number; perRap: number; prefix: string } | null = null,
): Promise<void> {
  const db = await openMigrated(location);
  try {
    const group = (ids: string[], size: number) =>
      ids.flatMap((rapId) => Array.from({ length: size }, (_, n) => benchJob(rapId, n)));
    const jobs = [
      ...group(rapIds(raps), perRap),
      ...(extra ? group(rapIds(extra.raps, extra.prefix), extra.perRap) : []),
    ];
    await db.transaction().execute(async (trx) => {
      await insertJobs(trx as Db, jobs);
      for (const job of jobs) {
        const id = runJobTaskId(job.id, 1);
        await insertTask(trx as Db, {
          id,
          backend: job.backend,
          type: "runjob",
          jobId: job.id,
          definition: { job_id: job.id, action: job.action },
          attributes: { user: job.user, project: job.project, orgs: job.orgs.join(",") },
          createdAt: job.startedAt!,
        });
        await recordAgentUpdate(
          trx as Db,
          job.backend,
          id,
          {
            stage: "finalized",
            results: benchResults(job),
            complete: job.state === "succeeded",
            timestampNs: null,
          },
          job.updatedAt,
        );
      }
    });
    for (const backend of ["test", "tpp", "emis", "ted"]) {
      await setFlag(db, backend, "last-seen-at", "2025-08-12T11:30:45+00:00", BASE_TIME + 0.25);
    }
    await setFlag(db, "tpp", "mode", "db-maintenance", BASE_TIME + 0.5);
    await setFlag(db, "emis", "paused", "true", BASE_TIME + 0.75);
  } finally {
    await db.destroy();
  }
}
