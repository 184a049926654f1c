/**
 * The live-log stream (DESIGN DECISIONS 14, 18): `GET /operator/jobs/{id}/logs` follows a job as Server-Sent Events
 * (`text/event-stream`) until it finishes, for operator tokens only (the caller registers it behind
 * src/http/operator-auth.ts). Events, each one line of JSON data (src/ops/sse.ts):
 * - `open`: `{job_id, backend, output}`; `output` says whether this controller can give the job's output at all;
 * - `status`: the job's status when the stream opens and at each change (`line` as `rap logs -f` prints it);
 * - `output`: `{line}`, one line of the job's output as it is written (timestamped as in its log);
 * - `end`: `{state, status_code, backend}`, once the job has finished (then the stream closes).
 * The output comes from `output` (the job's container on this machine, or what its agent sent with
 * LOGS_TO_CONTROLLER=true); without one, only the status events. Nothing here changes state.
 */
import type { FastifyInstance } from "fastify";
import type { JobStore } from "../../db/storage.js";
import type { Job } from "../../domain/job.js";
import { followJob, type JobOutput, statusLine } from "../../ops/logs.js";
import { sseEvent } from "../../ops/sse.js";
import { isoOrNullFromUnixSeconds } from "../../python/datetime.js";
import { NotFoundError } from "../errors.js";

export interface OperatorLogsDeps {
  jobs: JobStore;
  /** The job's output as it is written; null when this controller has none (the stream gives the status only). */
  output: JobOutput | null;
  /** How often the job's status is read (default 1 s). */
  statusIntervalMs?: number;
}

/** A comment line this often keeps proxies from closing a quiet stream. */
const KEEP_ALIVE_MS = 15_000;
/** A reader this far behind is dropped rather than let the controller's memory hold what it has not read. */
const MAX_UNSENT_BYTES = 4 * 1024 * 1024;

export function jobStatusEvent(job: Job) {
  return {
    state: job.state,
    status_code: job.statusCode,
    status_message: job.statusMessage,
    updated_at: isoOrNullFromUnixSeconds(job.updatedAt),
    line: statusLine(job),
  };
}

export async function operatorLogs(scope: FastifyInstance, deps: OperatorLogsDeps): Promise<void> {
  // Open streams end when the server closes: a job may run for days, and closing waits for every connection.
  const open = new Set<AbortController>();
  scope.addHook("preClose", (done) => {
    for (const stream of open) stream.abort();
    done();
  });
  scope.get("/jobs/:id/logs", async (request, reply) => {
    const { id } = request.params as { id: string };
    const job = await deps.jobs.get(id);
    if (!job) throw new NotFoundError(request.method, request.url.split("?", 1)[0]!);

    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      // nginx would otherwise hold the events back.
      "x-accel-buffering": "no",
      // A stream's connection is not reused: one left idle after a stream ended would hold a server's close up.
      connection: "close",
    });
    const stop = new AbortController();
    open.add(stop);
    raw.on("close", () => stop.abort());
    const send = (event: string, data: unknown) => {
      if (stop.signal.aborted) return;
      raw.write(sseEvent(event, data));
      if (raw.writableLength > MAX_UNSENT_BYTES) stop.abort();
    };
    const keepAlive = setInterval(() => raw.write(": keep-alive\n\n"), KEEP_ALIVE_MS);
    try {
      send("open", { job_id: job.id, backend: job.backend, output: deps.output !== null });
      const followed = await followJob(
        deps.jobs,
        id,
        deps.output,
        {
          status: (changed) => send("status", jobStatusEvent(changed)),
          line: (line) => send("output", { line }),
        },
        { intervalMs: deps.statusIntervalMs ?? 1000, signal: stop.signal },
      );
      const last = followed.job ?? job;
      send("end", { state: last.state, status_code: last.statusCode, backend: last.backend });
    } catch (error) {
      request.log.error({ err: error, job: id }, "the live-log stream of a job failed");
    } finally {
      open.delete(stop);
      clearInterval(keepAlive);
      raw.end();
    }
  });
}
