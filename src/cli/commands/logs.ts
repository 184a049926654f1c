import { join } from "node:path";
import type { Command } from "commander";
import { agentLayout, jobLogDir } from "../../agent/workspace/paths.js";
import { loadAgentStorage } from "../../config/agent.js";
import { followJobLog, type JobLogPath, missingLogMessage, readJobLog } from "../../ops/logs.js";
import { withStorage } from "../context.js";

/** How often `-f` reads the job's status. */
const FOLLOW_INTERVAL_MS = 1000;

export function registerLogs(program: Command): void {
  program
    .command("logs")
    .description(
      "print a finished job's log, on its backend's machine (-f: follow its status until it finishes)",
    )
    .argument("<job-id>", "the job")
    .option("-f, --follow", "print the job's status changes until it finishes, then its log", false)
    .action(async (jobId: string, options: { follow: boolean }) => {
      const layout = agentLayout(loadAgentStorage(process.env, process.cwd()));
      const logPath: JobLogPath = (job) =>
        join(jobLogDir(layout, { id: job.id, created_at: job.createdAt }), "logs.txt");
      await withStorage(async (storage) => {
        const log = options.follow
          ? await followJobLog(storage.jobs, jobId, logPath, (line) => console.log(line), FOLLOW_INTERVAL_MS)
          : await readJobLog(storage.jobs, jobId, logPath);
        if (log.kind === "found") process.stdout.write(log.text);
        else {
          console.error(log.kind === "no-job" ? `No job ${jobId}` : missingLogMessage(log.job, log.path));
          process.exitCode = 1;
        }
      });
    });
}
