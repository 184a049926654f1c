/**
 * Requests refused before a route sees them, answered in our error shape like every other error: Node's HTTP parser
 * refusals (a control character in a header, an unknown method, headers over 16 KiB), a request that had not fully
 * arrived within REQUEST_TIMEOUT, and Fastify's refusal of a URL with bad percent-encoding.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import type { FastifyBaseLogger, FastifyReply } from "fastify";
import type { Limits } from "../config/index.js";
import { toAsciiJson } from "../python/ascii-json.js";
import {
  type ApiError,
  apiErrorFor,
  BadRequestError,
  type ErrorCode,
  HeadersTooLargeError,
  RequestTimeoutError,
} from "./errors.js";

type ClientError = Error & { code?: string; reason?: string };

/** The answer for an error Node's HTTP server reports on a connection (its `clientError` event). */
function clientErrorAnswer(error: ClientError, limits: Pick<Limits, "requestTimeoutMs">): ApiError {
  switch (error.code) {
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return new RequestTimeoutError(limits.requestTimeoutMs, { cause: error });
    case "HPE_HEADER_OVERFLOW":
      return new HeadersTooLargeError({ cause: error });
    default:
      return new BadRequestError(
        `The request is not valid HTTP: ${error.reason ?? error.code ?? error.message}`,
        {
          cause: error,
        },
      );
  }
}

/**
 * Fastify's `clientErrorHandler`: writes the answer on the raw socket and closes it (the parser cannot go on after
 * such an error). Nothing is written once a response has started, or on a connection already gone.
 */
export function answerClientErrors(limits: Limits, log: () => FastifyBaseLogger) {
  return (error: ClientError, socket: Socket): void => {
    if (error.code === "ECONNRESET" || socket.destroyed) return;
    const answer = clientErrorAnswer(error, limits);
    // The failed-request line (failure-log.ts) of a request that never reached Fastify: no method or path to tell.
    log().warn({ status: answer.status, code: answer.code, reason: error.code }, "request failed");
    const response = (socket as Socket & { _httpMessage?: ServerResponse<IncomingMessage> })._httpMessage;
    if (socket.writable && !response?.headersSent) {
      const body = toAsciiJson(answer.body());
      socket.write(
        `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    }
    socket.destroy();
  };
}

/** Fastify's `frameworkErrors`: errors raised while routing (a URL with bad percent-encoding). Returns the code. */
export function answerFrameworkError(error: Error, reply: FastifyReply): ErrorCode {
  const answer = apiErrorFor(error);
  reply.code(answer.status).send(answer.body());
  return answer.code;
}
