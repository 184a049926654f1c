import { resolve } from "node:path";
import type { Command } from "commander";
import { randomId } from "../../domain/ids.js";
import type { CreateRequest } from "../../jobs/request.js";

interface AddJobOptions {
  backend: string;
  commit?: string;
  branch: string;
  workspace: string;
  database: string;
  forceRunDependencies: boolean;
}

/** A relative local path means a repository on this machine; URLs are left alone. */
function repoUrlArgument(repo: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(repo) || repo.startsWith("/") ? repo : resolve(repo);
}

export function registerAddJob(program: Command): void {
  program
    .command("add-job")
    .description("create a RAP from the command line (development): local repositories are always allowed")
    .argument("<repo>", "repository URL or local path")
    .argument("<actions...>", "actions to run (or run_all)")
    .requiredOption("--backend <backend>", "backend to run on")
    .option("--commit <sha>", "commit to run (default: the head of --branch)")
    .option("--branch <branch>", "branch the commit is on", "main")
    .option("--workspace <workspace>", "workspace name", "test")
    .option("--database <name>", "database name", "default")
    .option("-f, --force-run-dependencies", "rerun dependencies that already succeeded", false)
    .action(async (repo: string, actions: string[], options: AddJobOptions) => {
      const [
        { systemClock },
        { getShaFromRemoteRef },
        { createJobs },
        { NothingToDoError },
        { gitSettingsFor },
      ] = await Promise.all([
        import("../../domain/clock.js"),
        import("../../git/index.js"),
        import("../../jobs/create.js"),
        import("../../jobs/errors.js"),
        import("../../jobs/git-settings.js"),
      ]);
      const { backendArgument, withStorage } = await import("../context.js");
      await withStorage(async (storage, config) => {
        const git = { ...gitSettingsFor(config), allowLocalGitRepos: true };
        const repoUrl = repoUrlArgument(repo);
        const request: CreateRequest = {
          rapId: randomId(),
          backend: backendArgument(config, options.backend),
          workspace: options.workspace,
          repoUrl,
          branch: options.branch,
          commit: options.commit ?? (await getShaFromRemoteRef(repoUrl, options.branch, git)),
          databaseName: options.database,
          requestedActions: actions,
          codelistsOk: true,
          forceRunDependencies: options.forceRunDependencies,
          createdBy: "controller",
          project: "unknown",
          orgs: [],
          analysisScope: {},
        };
        console.log(`Submitting RAP:\n${JSON.stringify(request, null, 2)}`);
        try {
          const outcome = await createJobs(
            {
              storage,
              git,
              backends: config.backends,
              maxRunCommandBytes: config.limits.maxRunCommandBytes,
              clock: systemClock,
            },
            request,
          );
          const jobs = outcome.kind === "created" ? outcome.jobs : [];
          console.log(`Created ${jobs.length} new jobs:`);
          for (const job of jobs) console.log(`  ${job.id} ${job.action}: ${job.runCommand}`);
        } catch (error) {
          if (!(error instanceof NothingToDoError)) throw error;
          console.log(`Nothing to do: ${error.message}`);
        }
      });
    });
}
