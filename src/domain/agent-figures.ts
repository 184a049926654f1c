/**
 * What an agent says about itself on every poll of `GET /{backend}/tasks/` (ours: the reference's agent never sends
 * it and its controller ignores it), so an operator sees an agent inside a secure backend without it opening a port:
 * a JSON object in one request header. The controller exports the figures as metrics per backend (docs/metrics.md).
 */
export const AGENT_FIGURES_HEADER = "x-rap-agent-figures";

/** The storages whose free space is reported: the agent's two workspace roots. */
export const AGENT_STORAGES = ["high_privacy", "medium_privacy"] as const;
export type AgentStorage = (typeof AGENT_STORAGES)[number];

export interface AgentFigures {
  /** Jobs whose container is running now (their task at stage `executing`). */
  running_jobs: number;
  /** Runtime (Docker, local, Slurm) calls that failed since the agent started. */
  runtime_errors: number;
  /** Free bytes on each storage's file system; a storage that could not be read is left out. */
  storage_free_bytes: Partial<Record<AgentStorage, number>>;
}
