/**
 * Starting a worker thread from a module next to the caller, whether the code runs compiled (`dist/…/x.js`) or from
 * the TypeScript sources (tests, benchmarks: `src/…/x.ts`, where the thread first registers tsx's loader).
 */
import { Worker, type WorkerOptions } from "node:worker_threads";

/**
 * `name` is the entry's file name without extension, in the directory of the module at `callerUrl`. It ends in
 * `-worker`: that is how the build (scripts/build.mjs) finds the entries it must keep as files of their own.
 */
export function startWorker(
  callerUrl: string,
  name: `${string}-worker`,
  options: WorkerOptions = {},
): Worker {
  if (!callerUrl.endsWith(".ts")) return new Worker(new URL(`./${name}.js`, callerUrl), options);
  const tsx = import.meta.resolve("tsx/esm/api");
  const entry = new URL(`./${name}.ts`, callerUrl).href;
  const bootstrap = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}
