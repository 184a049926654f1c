/** The structured logger the agent writes to; a pino logger fits. Nothing passed to it may contain a secret. */
export interface AgentLogger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

export const silentLogger: AgentLogger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};
