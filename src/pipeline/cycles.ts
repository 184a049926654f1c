/** Dependency cycles through `needs` (the reference does not look for them; job planning would never end). */
import type { Action } from "./model.js";

/**
 * The first cycle found, walking actions and their needs in file order, as `[a, b, a]`; null when there is none.
 * Iterative, so a long chain of needs cannot overflow the stack.
 */
export function findNeedsCycle(actions: readonly Action[]): string[] | null {
  const byName = new Map(actions.map((action) => [action.name, action]));
  const state = new Map<string, "visiting" | "done">();
  for (const root of actions) {
    if (state.has(root.name)) continue;
    const path: string[] = [root.name];
    const nextNeed: number[] = [0];
    state.set(root.name, "visiting");
    while (path.length > 0) {
      const name = path[path.length - 1] as string;
      const index = nextNeed[nextNeed.length - 1] as number;
      const needs = byName.get(name)?.needs ?? [];
      if (index >= needs.length) {
        state.set(name, "done");
        path.pop();
        nextNeed.pop();
        continue;
      }
      nextNeed[nextNeed.length - 1] = index + 1;
      const need = needs[index] as string;
      const seen = state.get(need);
      if (seen === "visiting") return [...path.slice(path.indexOf(need)), need];
      if (seen === undefined && byName.has(need)) {
        state.set(need, "visiting");
        path.push(need);
        nextNeed.push(0);
      }
    }
  }
  return null;
}
