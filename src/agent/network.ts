/**
 * The database host pin for containers on the database network: Docker's DNS is blackholed there, so the
 * database's name from DATABASE_URL is resolved on the agent host and passed as an extra host entry.
 */
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";

/** `{host, ip}` for the URL's host, unless the URL already names an IP (or has no host). */
export async function pinnedHost(
  databaseUrl: string | undefined,
): Promise<Array<{ host: string; ip: string }>> {
  if (!databaseUrl) return [];
  let host: string;
  try {
    host = new URL(databaseUrl).hostname;
  } catch {
    return [];
  }
  if (host === "" || isIP(host.replace(/^\[|\]$/g, ""))) return [];
  const { address } = await lookup(host);
  return [{ host, ip: address }];
}
