/**
 * The status-reader role (src/db/storage.ts) on either database: each job's printed JSON is kept between requests,
 * and a request renders only the jobs written since. job-server asks for the same RAPs again and again (every active
 * RAP, every poll), and most of a large RAP's jobs have not changed since.
 *
 * What a job shows comes from its row and its latest RUNJOB task (the metrics). The database numbers every write of
 * either (`change_seq`, migration 0007), whoever writes: SQLite from a counter, PostgreSQL with the writing
 * transaction's id. So a job is kept under its row's number (its stamp), which comes back only if the row was not
 * written since; and its tasks' writes are read as the scheduler reads them (ChangeFeed's marks, src/db/storage.ts):
 * each request first forgets the jobs whose tasks were written since the last request's mark. Requests take turns,
 * so that a job rendered before a task write is forgotten by the next request whatever the order of the two. Every
 * request reads both afresh, so another process's write (a replica, `rap` commands) is seen at once: nothing kept is
 * ever shown stale.
 */
import type { ChangeMark, RenderedJobs, StatusReader } from "../storage.js";
import { RenderedJobCache } from "./job-cache.js";
import type { PrintedJobs } from "./rendered-jobs.js";

/**
 * A RAP's jobs on the requested backends, in creation order, each by its key (what its source finds it by, and what
 * it is kept under: SQLite's `seq`, the rowid; PostgreSQL's id) with its stamp.
 */
export interface RapStamps {
  rapId: string;
  keys: string[];
  stamps: string[];
}

/** What a dialect gives the cached reader: cheap reads of what changed, and the rendering of chosen jobs. */
export interface StatusSource {
  /** Where the writes not yet read begin, read before anything it covers (ChangeFeed's marks). */
  changeMark(): Promise<ChangeMark>;
  /** The keys of the jobs whose RUNJOB tasks were written from `mark` on. */
  jobsWithTasksWrittenSince(mark: ChangeMark): Promise<string[]>;
  /** The RAPs of these (unique) ids that have jobs on these backends, in any order, their jobs in creation order. */
  stamps(rapIds: readonly string[], backends: readonly string[]): Promise<RapStamps[]>;
  /** The jobs of these keys printed, in parts, each job with the stamp of the row its JSON was written from. */
  render(keys: readonly string[]): Promise<PrintedJobs[]>;
}

/** Bytewise order of rap ids (SQLite's BINARY collation), whatever the database gave them in. */
const byRapId = (a: RapStamps, b: RapStamps) => Buffer.compare(Buffer.from(a.rapId), Buffer.from(b.rapId));

export function cachedStatusReader(source: StatusSource, cache = new RenderedJobCache()): StatusReader {
  let previous: Promise<unknown> = Promise.resolve();
  return {
    read: (rapIds, backends) => {
      const turn = previous.then(() => read(source, cache, rapIds, backends));
      previous = turn.catch(() => undefined);
      return turn;
    },
  };
}

async function read(
  source: StatusSource,
  cache: RenderedJobCache,
  rapIds: readonly string[],
  backends: readonly string[],
): Promise<RenderedJobs[]> {
  if (rapIds.length === 0 || backends.length === 0) return [];
  await forgetTasksWritten(source, cache);
  const raps = (await source.stamps(rapIds, backends)).sort(byRapId);
  // Every job's JSON taken now, in answer order, kept or rendered: the cache may let some go while others render.
  const jobs: (Uint8Array | undefined)[] = [];
  const missing = new Map<string, number>();
  for (const rap of raps) {
    for (const [index, key] of rap.keys.entries()) {
      const kept = cache.get(key, rap.stamps[index]!);
      if (!kept) missing.set(key, jobs.length);
      jobs.push(kept);
    }
  }
  const unreadableTimes: string[] = [];
  if (missing.size > 0) {
    for (const part of await source.render([...missing.keys()])) {
      unreadableTimes.push(...part.unreadableTimes);
      // Each job a view of its part's bytes: no copy, and the part lives as long as one of its jobs is kept.
      let start = 0;
      for (const [index, key] of part.keys.entries()) {
        const json = part.json.subarray(start, part.ends[index]);
        start = part.ends[index]!;
        jobs[missing.get(key)!] = json;
        cache.set(key, part.stamps[index]!, json);
      }
    }
  }
  return [answer(raps, jobs, unreadableTimes)];
}

/** Forgets the jobs whose tasks were written since the last request (all of them if the database went back). */
async function forgetTasksWritten(source: StatusSource, cache: RenderedJobCache): Promise<void> {
  const mark = await source.changeMark();
  const since = cache.mark;
  if (since === undefined || mark < since) cache.clear();
  else cache.forget(await source.jobsWithTasksWrittenSince(since));
  cache.mark = mark;
}

/**
 * The jobs' JSON comma-separated, RAP by RAP (`jobs` in the order of the RAPs' ids). A job gone between the two reads
 * (none is ever deleted while its RAP can be asked for) is left out. Jobs printed together lie one after another in
 * memory, each with its comma: they are copied as one run.
 */
function answer(
  raps: readonly RapStamps[],
  jobs: readonly (Uint8Array | undefined)[],
  unreadableTimes: string[],
): RenderedJobs {
  const runs: Uint8Array[] = [];
  let run: { bytes: Uint8Array; end: number } | undefined;
  const found: string[] = [];
  let next = 0;
  for (const rap of raps) {
    let shown = false;
    for (let n = 0; n < rap.keys.length; n++) {
      const json = jobs[next++];
      if (!json) continue;
      shown = true;
      if (run?.bytes.buffer === json.buffer && run.end === json.byteOffset) run.end += json.length;
      else {
        if (run) runs.push(viewOf(run));
        run = { bytes: json, end: json.byteOffset + json.length };
      }
    }
    if (shown) found.push(rap.rapId);
  }
  if (run) runs.push(viewOf(run));
  const list = Buffer.concat(runs);
  // Every job ends with its comma, the last one's is not sent.
  return { json: list.subarray(0, Math.max(0, list.length - 1)), rapIds: found, unreadableTimes };
}

function viewOf(run: { bytes: Uint8Array; end: number }): Uint8Array {
  return new Uint8Array(run.bytes.buffer, run.bytes.byteOffset, run.end - run.bytes.byteOffset);
}
