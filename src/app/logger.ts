import pino, { type Logger } from "pino";

/** The process log: pino JSON lines on stdout at LOGLEVEL. Tokens never reach it (they are never logged). */
export function createLogger(level: string): Logger {
  return pino({ level, redact: { paths: ["req.headers.authorization"], censor: "[redacted]" } });
}
