/** Backend flag names (reference/controller.md §5). */
export const Flag = {
  Paused: "paused",
  Mode: "mode",
  ManualDbMaintenance: "manual-db-maintenance",
  DbMaintenanceChecksDisabled: "db-maintenance-checks-disabled",
  LastSeenAt: "last-seen-at",
} as const;
export type Flag = (typeof Flag)[keyof typeof Flag];

export const DB_MAINTENANCE_MODE = "db-maintenance";

export interface FlagValue {
  id: string;
  backend: string;
  value: string | null;
  /** Fractional Unix seconds of the last change of value. */
  timestamp: number;
}

/** How the reference reads most flags: any non-empty value is on (even `"false"`). */
export function isTruthyFlag(value: string | null | undefined): boolean {
  return value !== null && value !== undefined && value !== "";
}

/** `paused` is on only for the case-insensitive string `true`. */
export function isPausedValue(value: string | null | undefined): boolean {
  return (value ?? "").toLowerCase() === "true";
}
