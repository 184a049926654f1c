/**
 * `npm run build`: src/ to dist/ as a few large modules instead of one per source file. Node spends most of a `rap`
 * command's start-up loading modules (about 400 when compiled file by file, 263 of them Kysely's), so the build
 * bundles our code and Kysely with esbuild, split by dynamic `import()` so each command still loads only its own
 * code. Entry points keep their paths: `dist/cli/main.js`, and every worker thread's `dist/<dir>/<name>-worker.js`
 * beside the module that starts it (src/threads/start.ts). The other packages stay in node_modules: native ones,
 * and those that find their own files at run time (pino's transports, the Swagger UI's assets).
 *
 * Bundled code no longer sits where its source file would compile to, so `import.meta.url` in our sources is
 * rewritten to that place (`dist/<path>.js`), worked out from the output file's own URL: paths beside a module
 * (package.json, openapi/, dashboard/, a worker's entry) resolve as they did. Types are checked by `npm run lint`.
 */
import { readdirSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";
import { build } from "esbuild";

const root = resolve(import.meta.dirname, "..");
const src = join(root, "src");
const dist = join(root, "dist");
const manifest = JSON.parse(await readFile(join(root, "package.json"), "utf8"));

/** Bundled: ours, and Kysely (its ES build is one module per class). */
const BUNDLED_PACKAGES = ["kysely"];
const external = Object.keys(manifest.dependencies).filter((name) => !BUNDLED_PACKAGES.includes(name));

const DIST_ROOT = "__rapDistRoot";
const ROOT_PLACEHOLDER = "__RAP_DIST_ROOT_FROM_HERE__";

/** Each source's `import.meta.url` becomes the URL its compiled file would have, relative to dist/'s root. */
const importMetaUrl = {
  name: "import-meta-url",
  setup(esbuild) {
    esbuild.onLoad({ filter: /\.ts$/ }, async ({ path }) => {
      if (!path.startsWith(src + sep)) return undefined;
      const source = await readFile(path, "utf8");
      if (!source.includes("import.meta.url")) return undefined;
      const compiled = relative(src, path).split(sep).join("/").replace(/\.ts$/, ".js");
      const contents = source.replaceAll(
        "import.meta.url",
        `new URL(${JSON.stringify(compiled)}, ${DIST_ROOT}).href`,
      );
      return { contents, loader: "ts" };
    });
  },
};

const workers = readdirSync(src, { recursive: true, encoding: "utf8" })
  .filter((file) => file.endsWith("-worker.ts"))
  .map((file) => join(src, file));

await rm(dist, { recursive: true, force: true });
const result = await build({
  entryPoints: [join(src, "cli", "main.ts"), ...workers],
  outbase: src,
  outdir: dist,
  entryNames: "[dir]/[name]",
  chunkNames: "chunks/[name]-[hash]",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  external,
  // Error classes' names are part of what the agent reports (an `exception` field): never renamed.
  keepNames: true,
  sourcemap: "linked",
  banner: { js: `const ${DIST_ROOT} = new URL("${ROOT_PLACEHOLDER}", import.meta.url);` },
  plugins: [importMetaUrl],
  write: false,
  logLevel: "warning",
});

for (const file of result.outputFiles) {
  await mkdir(dirname(file.path), { recursive: true });
  if (!file.path.endsWith(".js")) {
    await writeFile(file.path, file.contents);
    continue;
  }
  const fromHere = relative(dirname(file.path), dist).split(sep).join("/");
  const rootUrl = fromHere === "" ? "./" : `${fromHere}/`;
  await writeFile(file.path, file.text.replace(ROOT_PLACEHOLDER, rootUrl));
}
