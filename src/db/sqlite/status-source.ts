/**
 * SQLite's status source (src/db/status/cached-reader.ts): the stamps are read on the calling thread; DIVIDE_FROM_JOBS
 * jobs or more to print are divided between worker threads with their own read connections (./status-workers.ts), so
 * that a large render neither holds up the main thread nor waits for one core; fewer are printed on the calling
 * thread.
 */
import type { Db } from "../index.js";
import type { StatusSource } from "../status/cached-reader.js";
import { DIVIDE_FROM_JOBS, divideJobs } from "../status/divide.js";
import { jobsWithTasksWrittenSince, readStamps } from "./rap-status.js";
import { changeMark } from "./scheduler-reads.js";
import { printedJobs } from "./status-render.js";
import type { StatusWorkers } from "./status-workers.js";

/** A status source on `db`, dividing large renders between `workers` if given (the caller closes them). */
export function sqliteStatusSource(db: Db, workers?: StatusWorkers): StatusSource {
  return {
    changeMark: () => changeMark(db),
    jobsWithTasksWrittenSince: (mark) => jobsWithTasksWrittenSince(db, mark),
    stamps: (rapIds, backends) => readStamps(db, rapIds, backends),
    render: async (keys) => {
      if (!workers || keys.length < DIVIDE_FROM_JOBS) return [await printedJobs(db, keys)];
      return Promise.all(divideJobs(keys, workers.size).map((share, index) => workers.print(index, share)));
    },
  };
}
