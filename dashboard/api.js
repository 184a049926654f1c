// The operator API as the dashboard reads it: the token from sessionStorage as an Authorization header (never in a
// URL), answers kept with their ETag so an unchanged poll costs a 304, and the live-log stream read as Server-Sent
// Events through fetch (EventSource cannot send a header).
const TOKEN_KEY = "rap-operator-token";

export class Unauthorized extends Error {}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(value) {
  if (value === null) sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, value);
}

const cache = new Map();

/** GETs operator/api/{path}: its JSON, and whether it changed since the last call. */
export async function getJson(path) {
  const url = `../operator/api/${path}`;
  const kept = cache.get(url);
  const headers = { authorization: `Bearer ${token()}` };
  if (kept) headers["if-none-match"] = kept.etag;
  const response = await fetch(url, { headers, cache: "no-store" });
  if (response.status === 401) throw new Unauthorized();
  if (response.status === 304 && kept) return { data: kept.data, changed: false };
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  const data = await response.json();
  const etag = response.headers.get("etag");
  if (etag) cache.set(url, { etag, data });
  return { data, changed: true };
}

/** The last answer to operator/api/{path}, if any. */
export function kept(path) {
  return cache.get(`../operator/api/${path}`)?.data;
}

/** Follows a job's live-log stream, calling onEvent(name, data) for each event, until it ends or `signal` aborts. */
export async function followJob(jobId, onEvent, signal) {
  const response = await fetch(`../operator/jobs/${encodeURIComponent(jobId)}/logs`, {
    headers: { authorization: `Bearer ${token()}`, accept: "text/event-stream" },
    signal,
  });
  if (response.status === 401) throw new Unauthorized();
  if (!response.ok || !response.body) throw new Error(`the log stream answered ${response.status}`);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end = buffer.indexOf("\n\n");
    while (end >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = "message";
      let data = null;
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data = JSON.parse(line.slice(5));
      }
      if (data !== null) onEvent(name, data);
      end = buffer.indexOf("\n\n");
    }
  }
}
