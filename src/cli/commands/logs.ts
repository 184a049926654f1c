import { join } from "node:path";
import type { Command } from "commander";
import type { JobLogPath } from "../../ops/logs.js";

/** How often `-f` reads the job's status. */
const FOLLOW_INTERVAL_MS = 1000;

export function registerLogs(program: Command): void {
  program
    .command("logs")
    .description(
      "print a finished job's log, on its backend's machine (-f: follow its status and output until it finishes)",
    )
    .argument("<job-id>", "the job")
    .option(
      "-f, --follow",
      "print the job's status changes and its output as it is written until it finishes (elsewhere than its " +
        "backend's machine: its status, then its log)",
      false,
    )
    .option(
      "--controller <url>",
      "follow the job through this controller's live-log stream, with the operator token in OPERATOR_TOKEN",
    )
    .action(async (jobId: string, options: { follow: boolean; controller?: string }) => {
      if (options.controller !== undefined) {
        const { followRemoteJob } = await import("../../ops/remote-logs.js");
        process.exitCode = await followRemoteJob(
          options.controller,
          process.env.OPERATOR_TOKEN ?? "",
          jobId,
          {
            out: (line) => console.log(line),
            err: (line) => console.error(line),
          },
        );
        return;
      }
      const [
        { followJobOutput, runtimeOfJob },
        { agentLayout, jobLogDir },
        { loadAgentStorage },
        { followJobLog, missingLogMessage, readJobLog },
        { withStorage },
      ] = await Promise.all([
        import("../../agent/live-output.js"),
        import("../../agent/workspace/paths.js"),
        import("../../config/agent.js"),
        import("../../ops/logs.js"),
        import("../context.js"),
      ]);
      const layout = agentLayout(loadAgentStorage(process.env, process.cwd()));
      const logPath: JobLogPath = (job) =>
        join(jobLogDir(layout, { id: job.id, created_at: job.createdAt }), "logs.txt");
      await withStorage(async (storage) => {
        const job = options.follow ? await storage.jobs.get(jobId) : undefined;
        const runtime = job ? await runtimeOfJob(process.env, process.cwd(), job) : null;
        const log = options.follow
          ? await followJobLog(
              storage.jobs,
              jobId,
              logPath,
              (line) => console.log(line),
              FOLLOW_INTERVAL_MS,
              runtime && ((followed, signal) => followJobOutput(runtime, followed, signal)),
            )
          : await readJobLog(storage.jobs, jobId, logPath);
        if (log.kind === "found") process.stdout.write(log.text);
        else if (log.kind !== "followed") {
          console.error(log.kind === "no-job" ? `No job ${jobId}` : missingLogMessage(log.job, log.path));
          process.exitCode = 1;
        }
      });
    });
}
