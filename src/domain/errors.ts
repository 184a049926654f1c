/**
 * The base of every error whose message is meant for the person who made the request: a git, GitHub, project.yaml,
 * reusable-action or request problem, worded in the reference's text. The RAP API shows such a message as it is
 * (`Error creating jobs` + details); any other error is an internal fault, logged and reported vaguely. Callers
 * branch on `instanceof`, never on a message or a list of codes.
 */
export abstract class RefusalError extends Error {
  /** Stable, machine-readable; never shown to users. */
  abstract readonly code: string;
}
