/**
 * A scheduler's storage that a test can cut off from PostgreSQL: a fresh migrated database reached directly (for
 * the test's own reads and a healthy replica) and through a loopback TcpProxy (for the storage under test), and a
 * wrapper that runs a hook inside a transaction right after it renewed the lease, where a cut hurts most.
 */
import type { Config } from "../../src/config/index.js";
import { loadConfig } from "../../src/config/index.js";
import { openStorage } from "../../src/db/open.js";
import type { OpenTransaction, Storage, Stores } from "../../src/db/storage.js";
import { createTestPostgres } from "./postgres.js";
import { TcpProxy } from "./tcp-proxy.js";

export interface ProxiedPostgres {
  /** Storage on the database itself, migrated. */
  direct: Storage;
  proxy: TcpProxy;
  /** The config for `env` on the database itself, and through the proxy. */
  directConfig: Config;
  proxiedConfig: Config;
}

/** A fresh database behind a proxy; whatever it opens is added to `cleanups` (run newest first). */
export async function proxiedPostgres(
  env: Record<string, string>,
  cleanups: Array<() => Promise<unknown>>,
): Promise<ProxiedPostgres> {
  const server = await createTestPostgres();
  cleanups.push(() => server.drop());
  const directConfig = loadConfig({ ...env, DATABASE_URL: server.url });
  const direct = await openStorage(directConfig.database, { migrate: true });
  cleanups.push(() => direct.close());
  const target = new URL(server.url);
  const proxy = await TcpProxy.start(target.hostname, Number(target.port));
  cleanups.push(() => proxy.close());
  const proxied = new URL(server.url);
  proxied.port = String(proxy.port);
  return {
    direct,
    proxy,
    directConfig,
    proxiedConfig: loadConfig({ ...env, DATABASE_URL: proxied.toString() }),
  };
}

/** A committed transaction that renewed the lease: when it renewed it, and when the commit was answered. */
export interface RenewingCommit {
  renewedAtMs: number;
  committedAtMs: number;
}

/**
 * `storage`, watched: every transaction that renews the lease and commits is recorded in `commits`, and
 * `hooks.onRenew`, once set, runs (once) inside the next transaction right after its renewal. Both kinds of
 * transaction: `transaction`'s, and `openTransaction`'s (a scheduler pass's batches).
 */
export function watchRenewals(storage: Storage) {
  const commits: RenewingCommit[] = [];
  const hooks: { onRenew?: () => void } = {};
  /** The stores with their lease's renewals told to `renewed`. */
  const watched = (stores: Stores, renewed: (nowMs: number) => void): Stores => ({
    ...stores,
    lease: {
      ...stores.lease,
      renew: async (holder, nowMs, ttlMs) => {
        const done = await stores.lease.renew(holder, nowMs, ttlMs);
        if (done) {
          renewed(nowMs);
          const hook = hooks.onRenew;
          hooks.onRenew = undefined;
          hook?.();
        }
        return done;
      },
    },
  });
  const committed = (renewedAtMs: number | undefined) => {
    if (renewedAtMs !== undefined) commits.push({ renewedAtMs, committedAtMs: Date.now() });
  };
  const wrapped = Object.create(storage) as Storage;
  wrapped.transaction = async <T>(work: (stores: Stores) => Promise<T>): Promise<T> => {
    let renewedAtMs: number | undefined;
    const result = await storage.transaction((stores) =>
      work(watched(stores, (nowMs) => (renewedAtMs = nowMs))),
    );
    committed(renewedAtMs);
    return result;
  };
  wrapped.openTransaction = async (): Promise<OpenTransaction> => {
    const open = await storage.openTransaction();
    let renewedAtMs: number | undefined;
    const stores = watched(open.stores, (nowMs) => (renewedAtMs = nowMs));
    return {
      stores,
      maxSteps: open.maxSteps,
      step: (work) => open.step(() => work(stores)),
      commit: async () => {
        await open.commit();
        committed(renewedAtMs);
      },
      rollback: () => open.rollback(),
    };
  };
  return { storage: wrapped, commits, hooks };
}
