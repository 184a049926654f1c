import type { Kysely } from "kysely";

/** The databases migrations are written for. */
export type Dialect = "sqlite" | "postgres";

/**
 * A migration: most are portable DDL and ignore `dialect`; where SQL must differ (expression indexes, triggers,
 * identity columns) a migration branches on it. Tables are untyped here: migrations run before the tables the
 * `Database` type describes exist.
 */
export interface DialectMigration {
  up(db: Kysely<unknown>, dialect: Dialect): Promise<void>;
  /** Undoes `up`, where that is worth having (a table rebuild is not). */
  down?(db: Kysely<unknown>, dialect: Dialect): Promise<void>;
}
