/**
 * `rap logs -f JOB --controller URL`: a job followed from another machine, through the controller's live-log stream
 * (GET /operator/jobs/{id}/logs, Server-Sent Events, an operator token). Its output comes only when the controller has
 * it: its agent shares the controller's machine (`rap serve`), or sends it (LOGS_TO_CONTROLLER=true).
 */
import { type SseEvent, SseParser } from "./sse.js";

export interface RemotePrinter {
  out(line: string): void;
  err(line: string): void;
}

/** The live-log stream's URL for a job. */
export function jobLogStreamUrl(controller: string, jobId: string): string {
  return new URL(
    `operator/jobs/${encodeURIComponent(jobId)}/logs`,
    controller.endsWith("/") ? controller : `${controller}/`,
  ).href;
}

/** Prints the job's status changes and output until it finishes; answers the exit code. */
export async function followRemoteJob(
  controller: string,
  token: string,
  jobId: string,
  print: RemotePrinter,
): Promise<number> {
  if (token === "") {
    print.err("Set OPERATOR_TOKEN to one of the controller's OPERATOR_TOKENS to follow a job through it");
    return 1;
  }
  const response = await fetch(jobLogStreamUrl(controller, jobId), {
    headers: { authorization: `Bearer ${token}`, accept: "text/event-stream" },
  });
  if (!response.ok || !response.body) {
    const body = (await response.text().catch(() => "")).slice(0, 300);
    print.err(`The controller answered ${response.status}: ${body}`);
    return 1;
  }
  const parser = new SseParser();
  const decoder = new TextDecoder();
  let output = true;
  let ended = false;
  const handle = ({ event, data }: SseEvent) => {
    const fields = data as { line?: string; output?: boolean; backend?: string };
    if (event === "open") output = fields.output === true;
    else if (event === "status" || event === "output") print.out(fields.line ?? "");
    else if (event === "end") ended = true;
    if (event === "end" && !output) {
      print.err(
        `(no output: the job's log stays on backend '${fields.backend}'; its agent sends it to the controller only ` +
          "with LOGS_TO_CONTROLLER=true)",
      );
    }
  };
  for await (const chunk of response.body) {
    for (const event of parser.push(decoder.decode(chunk as Uint8Array, { stream: true }))) handle(event);
    if (ended) break;
  }
  if (!ended) {
    print.err("The controller closed the stream before the job finished");
    return 1;
  }
  return 0;
}
