/** Keeping secrets out of error messages and log lines. */
import { echo } from "../domain/echo.js";

export const MASK = "********";

/** Replaces every occurrence of each non-empty secret with the mask. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret) out = out.replaceAll(secret, MASK);
  }
  return out;
}

const USERINFO = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^/?#]*)@/;

/**
 * A repository URL as it may appear in a message: any userinfo (`user:password@`, or a bare token as the user) is
 * masked. Such URLs are always refused, but the refusal message echoes the URL back, up to 200 characters.
 */
export function displayUrl(url: string, secrets: readonly string[] = []): string {
  return echo(redact(url.replace(USERINFO, `$1${MASK}@`), secrets));
}
