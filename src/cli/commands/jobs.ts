import { type Command, InvalidArgumentError, Option } from "commander";
import type { Storage } from "../../db/storage.js";
import type { Job } from "../../domain/job.js";
import { State } from "../../domain/status.js";

interface JobsOptions {
  rap?: string;
  workspace?: string;
  state?: State;
  backend?: string;
  limit: number;
  json?: boolean;
}

/** The jobs as `POST rap/status/` shows them (its status reader, so the two never differ), in listing order. */
async function statusShaped(storage: Storage, jobs: readonly Job[]): Promise<unknown[]> {
  const rapIds = [...new Set(jobs.map((job) => job.rapId))].sort();
  const backends = [...new Set(jobs.map((job) => job.backend))];
  const parts = await storage.status.read(rapIds, backends);
  const json = parts.map((part) => Buffer.from(part.json).toString("utf8")).filter((text) => text !== "");
  const byId = new Map<string, unknown>(
    (JSON.parse(`[${json.join(",")}]`) as { identifier: string }[]).map((job) => [job.identifier, job]),
  );
  return jobs.map((job) => byId.get(job.id));
}

function limitArgument(text: string): number {
  const limit = Number(text);
  if (!Number.isInteger(limit) || limit < 1)
    throw new InvalidArgumentError("Use a whole number of 1 or more.");
  return limit;
}

export function registerJobs(program: Command): void {
  program
    .command("jobs")
    .description("list jobs, newest first: a table, or --json in the shape of rap/status/")
    .option("--rap <id>", "only this RAP's jobs")
    .option("--workspace <workspace>", "only this workspace's jobs")
    .addOption(new Option("--state <state>", "only jobs in this state").choices(Object.values(State)))
    .option("--backend <backend>", "only this backend's jobs")
    .option("--limit <n>", "list at most this many", limitArgument, 100)
    .option("--json", "print a JSON array of the jobs as POST rap/status/ shows them")
    .action(async (options: JobsOptions) => {
      const { formatJobTable, listJobs } = await import("../../ops/jobs.js");
      const { backendArgument, withStorage } = await import("../context.js");
      const { limit } = options;
      await withStorage(async (storage, config) => {
        const listing = await listJobs(storage.jobs, {
          limit,
          ...(options.rap === undefined ? {} : { rapId: options.rap }),
          ...(options.workspace === undefined ? {} : { workspace: options.workspace }),
          ...(options.state === undefined ? {} : { state: options.state }),
          ...(options.backend === undefined ? {} : { backend: backendArgument(config, options.backend) }),
        });
        if (options.json) {
          process.stdout.write(`${JSON.stringify(await statusShaped(storage, listing.jobs), null, 2)}\n`);
          return;
        }
        if (listing.jobs.length === 0) {
          console.log("No jobs match.");
          return;
        }
        process.stdout.write(formatJobTable(listing.jobs));
        if (listing.more) console.log(`(the newest ${limit} shown: --limit to see more)`);
      });
    });
}
