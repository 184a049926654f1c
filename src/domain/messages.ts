/**
 * Every status message the controller gives a job (reference/controller.md §2.8), character for character: job-server
 * shows them to researchers as they are. One deliberate fix (DESIGN DECISIONS 10): the reference's
 * "retriedwith" lacks a space.
 */
export const StatusMessage = {
  Created: "Created",
  CancelledByUser: "Cancelled by user",
  Paused: "Backend is currently paused for maintenance, job will start once this is completed",
  WaitingDbMaintenance: "Waiting for database to finish maintenance",
  DependencyFailed: "Not starting as dependency failed",
  WaitingOnDependencies: "Waiting on dependencies",
  WaitingOnWorkers: "Waiting on available workers",
  WaitingOnWorkersResourceIntensive: "Waiting on available workers for resource intensive job",
  WaitingOnDbWorkers: "Waiting on available database workers",
  Initiated: "Job executing on the backend",
  Succeeded: "Completed successfully",
  SucceededWithExclusions:
    "Completed successfully, but some file(s) marked as moderately_sensitive were excluded. See job log for details.",
  NonzeroExit: "Job exited with an error",
  UnmatchedPatterns: "Outputs matching expected patterns were not found. See job log for details.",
  WaitingOnNewTask: "This job returned an error that could be retried with a new task.",
  JobError: "This job returned a fatal error.",
  WaitingOnReboot: "Job restarted - waiting for server to reboot",
  InternalError:
    "Internal error: this usually means a platform issue rather than a problem for users to fix.\nThe tech team are automatically notified of these errors and will be investigating.",
  /** Ours (issue 14): a running job's task ended without a result, so nothing will ever report on it again. */
  TaskLost:
    "The backend lost track of this job before it finished, so it was stopped. Please run it again; if this happens again, contact tech support.",
} as const;

/** Ours (issue 14): a running job's task went unreported for `timeoutS` while the backend's agent kept working. */
export function taskSilentMessage(timeoutS: number): string {
  const duration = timeoutS % 60 === 0 ? `${timeoutS / 60} minutes` : `${timeoutS} seconds`;
  return `The backend stopped reporting on this job (nothing for ${duration} while it kept working on others), so it was stopped. Please run it again; if this happens again, contact tech support.`;
}

/** What a database job's exit code means (config.DATABASE_EXIT_CODES in the reference). */
export const DATABASE_EXIT_CODES: Readonly<Record<number, string>> = {
  2: "There was a problem with the command line arguments in your ehrQL action; please confirm that it runs locally",
  3: "A transient database error occurred, your job may run if you try it again, if it keeps failing then contact tech support",
  4: "New data is being imported into the database, please try again in a few hours",
  5: "Something went wrong with the database, please contact tech support",
  6: "Your ehrQL is valid but it produced SQL which is too complex for the database to run; please contact tech-support so we can help you simplify it.",
  10: "There was a problem reading your ehrQL code; please confirm that it runs locally",
  11: "There was a problem reading one of the supplied data files",
  12: "You do not have the required permissions for the ehrQL you are trying to run",
  13: "Assurance tests failed; please confirm the tests pass locally",
  14: "Your job was making such slow progress that it was unlikely to complete successfully; please contact tech support so we can help you to simplify it.",
};
