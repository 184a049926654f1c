/**
 * Every error answer of the RAP API, in one place: each refusal is a class with a stable `code`, its HTTP status
 * and its JSON body (texts are the reference's, character for character). Routes throw them; the app's error
 * handler (app.ts) turns them into responses. docs/api.md lists every code (a test keeps the two in step).
 */
import type { Limits } from "../config/index.js";
import { StorageFullError } from "../db/storage.js";
import { echo } from "../domain/echo.js";
import { RefusalError } from "../domain/errors.js";

export const ErrorCode = {
  NoToken: "AUTH_NO_TOKEN",
  InvalidToken: "AUTH_INVALID_TOKEN",
  BodyNotJson: "BODY_NOT_JSON",
  BodyInvalid: "BODY_INVALID",
  BackendNotAllowed: "CREATE_BACKEND_NOT_ALLOWED",
  InconsistentRap: "CREATE_INCONSISTENT_RAP",
  CreateRefused: "CREATE_REFUSED",
  CreateFailed: "CREATE_FAILED",
  RapNotFound: "CANCEL_RAP_NOT_FOUND",
  ActionsNotFound: "CANCEL_ACTIONS_NOT_FOUND",
  NotFound: "NOT_FOUND",
  BadRequest: "BAD_REQUEST",
  PayloadTooLarge: "PAYLOAD_TOO_LARGE",
  HeadersTooLarge: "HEADERS_TOO_LARGE",
  RequestTimeout: "REQUEST_TIMEOUT",
  TooManyRapIds: "STATUS_TOO_MANY_RAP_IDS",
  Internal: "INTERNAL",
  StorageFull: "STORAGE_FULL",
  BackendNotFound: "TASKS_BACKEND_NOT_FOUND",
  AgentInvalidToken: "TASKS_INVALID_TOKEN",
  TaskUpdateInvalid: "TASKS_UPDATE_INVALID",
  TaskNotFound: "TASKS_TASK_NOT_FOUND",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export abstract class ApiError extends Error {
  abstract readonly code: ErrorCode;
  abstract readonly status: number;
  /** The JSON body, keys in the reference's order. */
  abstract body(): Record<string, unknown>;
}

abstract class PlainApiError extends ApiError {
  constructor(
    readonly error: string,
    readonly details: string,
    options?: ErrorOptions,
  ) {
    super(`${error}: ${details}`, options);
    this.name = new.target.name;
  }

  body(): Record<string, unknown> {
    return { error: this.error, details: this.details };
  }
}

export class NoTokenError extends PlainApiError {
  readonly code = ErrorCode.NoToken;
  readonly status = 401;
  constructor() {
    super("Unauthorized", "No token provided");
  }
}

export class InvalidTokenError extends PlainApiError {
  readonly code = ErrorCode.InvalidToken;
  readonly status = 401;
  constructor() {
    super("Unauthorized", "Invalid token");
  }
}

export class BodyNotJsonError extends PlainApiError {
  readonly code = ErrorCode.BodyNotJson;
  readonly status = 400;
  constructor(options?: ErrorOptions) {
    super("Validation error", "could not parse JSON from request body", options);
  }
}

export class BodyInvalidError extends PlainApiError {
  readonly code = ErrorCode.BodyInvalid;
  readonly status = 400;
  constructor(details: string) {
    super("Validation error", details);
  }
}

/**
 * The backend is unknown or not one the token may use. The reference answers `Unknown error`, which leaves the
 * user guessing; this names the problem and the token's own backends, and the same words for an unknown backend
 * and another token's, so a client learns nothing about backends it may not see.
 */
export class BackendNotAllowedError extends PlainApiError {
  readonly code = ErrorCode.BackendNotAllowed;
  readonly status = 400;
  constructor(backend: string, allowed: readonly string[]) {
    super(
      "Error creating jobs",
      `Backend '${echo(backend)}' is not one this token may use (it may use: ${allowed.join(", ")})`,
    );
  }
}

export class InconsistentRapError extends PlainApiError {
  readonly code = ErrorCode.InconsistentRap;
  readonly status = 400;
  constructor(rapId: string) {
    super(
      "Inconsistent request data",
      `Jobs already created for rap_id '${rapId}' are inconsistent with request data`,
    );
  }
}

/** The pipeline refused the request for a reason the user can act on; its message is shown as it is. */
export class CreateRefusedError extends PlainApiError {
  readonly code = ErrorCode.CreateRefused;
  readonly status = 400;
  constructor(message: string, options?: ErrorOptions) {
    super("Error creating jobs", message, options);
  }
}

/** Anything else going wrong while creating: logged in full, reported vaguely (the reference's `Unknown error`). */
export class CreateFailedError extends PlainApiError {
  readonly code = ErrorCode.CreateFailed;
  readonly status = 400;
  constructor(options?: ErrorOptions) {
    super("Error creating jobs", "Unknown error", options);
  }
}

export class RapNotFoundError extends ApiError {
  readonly code = ErrorCode.RapNotFound;
  readonly status = 404;
  constructor(readonly rapId: string) {
    super(`No jobs found for rap_id ${rapId}`);
    this.name = "RapNotFoundError";
  }

  body(): Record<string, unknown> {
    return { error: "jobs not found", details: this.message, rap_id: this.rapId };
  }
}

export class ActionsNotFoundError extends ApiError {
  readonly code = ErrorCode.ActionsNotFound;
  readonly status = 404;
  /** `notFound` must be sorted. */
  constructor(
    readonly rapId: string,
    readonly notFound: readonly string[],
  ) {
    super(`Jobs matching requested cancelled actions could not be found: ${notFound.join(",")}`);
    this.name = "ActionsNotFoundError";
  }

  body(): Record<string, unknown> {
    return { error: "jobs not found", details: this.message, rap_id: this.rapId, not_found: this.notFound };
  }
}

export class NotFoundError extends PlainApiError {
  readonly code = ErrorCode.NotFound;
  readonly status = 404;
  constructor(method: string, path: string) {
    super("Not found", `No endpoint ${method} ${path}`);
  }
}

/**
 * A request refused before it reached a route, by Node's HTTP parser (a control character in a header, an unknown
 * method) or by Fastify (bad percent-encoding in the URL, a Content-Length that does not match the body, …).
 */
export class BadRequestError extends PlainApiError {
  readonly code = ErrorCode.BadRequest;
  readonly status = 400;
  constructor(details: string, options?: ErrorOptions) {
    super("Bad request", echo(details), options);
  }
}

export class PayloadTooLargeError extends PlainApiError {
  readonly code = ErrorCode.PayloadTooLarge;
  readonly status = 413;
  constructor(maxBodyBytes: number | undefined, options?: ErrorOptions) {
    const limit = maxBodyBytes === undefined ? "" : ` (${maxBodyBytes} bytes, MAX_BODY_BYTES)`;
    super("Payload too large", `The request body is larger than the server accepts${limit}`, options);
  }
}

/** Node's HTTP parser refuses headers over its 16 KiB limit before any route sees the request. */
export class HeadersTooLargeError extends PlainApiError {
  readonly code = ErrorCode.HeadersTooLarge;
  readonly status = 431;
  constructor(options?: ErrorOptions) {
    super(
      "Request header fields too large",
      "The request headers are larger than the server accepts (16 KiB)",
      options,
    );
  }
}

/** The request (its body, usually) had not fully arrived within REQUEST_TIMEOUT; the connection is closed. */
export class RequestTimeoutError extends PlainApiError {
  readonly code = ErrorCode.RequestTimeout;
  readonly status = 408;
  constructor(timeoutMs: number, options?: ErrorOptions) {
    super(
      "Request timeout",
      `The request did not arrive in full within ${timeoutMs / 1000} second${timeoutMs === 1000 ? "" : "s"} (REQUEST_TIMEOUT)`,
      options,
    );
  }
}

/** More rap_ids in one `rap/status/` request than MAX_STATUS_RAP_IDS. */
export class TooManyRapIdsError extends PlainApiError {
  readonly code = ErrorCode.TooManyRapIds;
  readonly status = 400;
  constructor(count: number, max: number) {
    super(
      "Validation error",
      `Invalid request body received at $.rap_ids: ${count} rap_ids, more than the ${max} this server answers in one request (MAX_STATUS_RAP_IDS)`,
    );
  }
}

/** A fault of ours on a read-only endpoint; the cause is logged, never sent. */
export class InternalError extends PlainApiError {
  readonly code = ErrorCode.Internal;
  readonly status = 500;
  constructor(options?: ErrorOptions) {
    super("Internal error", "The server could not answer this request; the error has been logged", options);
  }
}

/** A write the database could not take because its disk is full: nothing wrong with the request, try it later. */
export class StorageFullApiError extends PlainApiError {
  readonly code = ErrorCode.StorageFull;
  readonly status = 503;
  constructor(options?: ErrorOptions) {
    super(
      "Service unavailable",
      "The controller's database is full: nothing can be saved until there is room again; try again later",
      options,
    );
  }
}

/** Task API: the backend in the path is not one this controller knows. */
export class BackendNotFoundError extends PlainApiError {
  readonly code = ErrorCode.BackendNotFound;
  readonly status = 404;
  constructor(backend: string) {
    super("Not found", `Backend '${backend}' not found`);
  }
}

/** Task API: the token is not this backend's agent token. */
export class AgentInvalidTokenError extends PlainApiError {
  readonly code = ErrorCode.AgentInvalidToken;
  readonly status = 401;
  constructor(backend: string) {
    super("Unauthorized", `Invalid token for backend '${backend}'`);
  }
}

/** Task API: the update's form or payload is malformed (the reference answers these with a bare 500). */
export class TaskUpdateInvalidError extends PlainApiError {
  readonly code = ErrorCode.TaskUpdateInvalid;
  readonly status = 400;
  constructor(details: string) {
    super("Invalid task update", details);
  }
}

/** Task API: no task has that id for this backend (DESIGN DECISIONS 7; the reference answers 500, or accepts another backend's). */
export class TaskNotFoundError extends PlainApiError {
  readonly code = ErrorCode.TaskNotFound;
  readonly status = 404;
  constructor(taskId: string, backend: string) {
    super("Not found", `No task '${echo(taskId)}' for backend '${backend}'`);
  }
}

/**
 * The answer for anything a route or Fastify itself threw: our refusals as they are, Fastify's client errors
 * (malformed requests, bodies over the limit) as JSON, and everything else as an InternalError.
 */
export function apiErrorFor(error: unknown, limits?: Pick<Limits, "maxBodyBytes">): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof StorageFullError) return new StorageFullApiError({ cause: error });
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  if (status === 413) return new PayloadTooLargeError(limits?.maxBodyBytes, { cause: error });
  if (typeof status === "number" && status >= 400 && status < 500) {
    return new BadRequestError((error as Error).message, { cause: error });
  }
  return new InternalError({ cause: error });
}

/** Maps whatever the pipeline threw (other than NothingToDo) to the answer the client gets. */
export function createErrorFor(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof StorageFullError) return new StorageFullApiError({ cause: error });
  // A refusal's message is meant for the user (the reference's GitError, GithubValidationError,
  // ProjectValidationError, ReusableActionError, RapCreateRequestError); anything else is reported vaguely.
  if (error instanceof RefusalError) return new CreateRefusedError(error.message, { cause: error });
  return new CreateFailedError({ cause: error });
}
