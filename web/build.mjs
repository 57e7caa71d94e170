// Builds the dashboard into dist/: one hashed JS bundle and one hashed CSS file under
// dist/assets/, an index.html that references them, and the favicon. The collector embeds
// dist/ (collector/build.rs), so the output is committed and must be reproducible:
//
//   node build.mjs           build into dist/ and print sizes against the budgets
//   node build.mjs --check   build into a temporary folder and fail if dist/ differs
//                            (CI: the committed assets match their sources)
//   node build.mjs --tests   bundle src/**/*.test.ts into .test-out/ for `node --test`
import * as esbuild from "esbuild";
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const here = path.dirname(new URL(import.meta.url).pathname);
const args = new Set(process.argv.slice(2));

/** Initial JavaScript, gzipped (issue 12: Plausible's is ~347 KB). */
const JS_BUDGET_GZ = 60 * 1024;
/** All CSS, gzipped. */
const CSS_BUDGET_GZ = 15 * 1024;

function walk(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? walk(p) : [p];
  });
}

async function buildTests() {
  const out = path.join(here, ".test-out");
  fs.rmSync(out, { recursive: true, force: true });
  const entryPoints = walk(path.join(here, "src")).filter((f) => f.endsWith(".test.ts"));
  await esbuild.build({
    entryPoints,
    outdir: out,
    outbase: path.join(here, "src"),
    bundle: true,
    platform: "node",
    format: "esm",
    outExtension: { ".js": ".mjs" },
    jsx: "automatic",
    jsxImportSource: "preact",
    logLevel: "warning",
  });
}

async function buildApp(outDir) {
  fs.rmSync(outDir, { recursive: true, force: true });
  // The world map (src/dashboard/world.json, written by tools/make-world.mjs) is not bundled:
  // it is copied under a hashed name and fetched by the dashboard when the map is shown; its
  // URL reaches the code as the constant __WORLD_URL__.
  const world = fs.readFileSync(path.join(here, "src/dashboard/world.json"));
  const worldName = `world-${createHash("sha256").update(world).digest("hex").slice(0, 8)}.json`;
  fs.mkdirSync(path.join(outDir, "assets"), { recursive: true });
  fs.writeFileSync(path.join(outDir, "assets", worldName), world);
  const result = await esbuild.build({
    entryPoints: { app: path.join(here, "src/main.tsx") },
    outdir: path.join(outDir, "assets"),
    entryNames: "[name]-[hash]",
    assetNames: "[name]-[hash]",
    // Code that only some views need (uPlot, for the dashboard's graph) is a lazy chunk, loaded
    // by dynamic import() while the dashboard's queries are in flight.
    splitting: true,
    chunkNames: "chunk-[hash]",
    bundle: true,
    minify: true,
    format: "esm",
    target: ["es2020", "chrome100", "firefox100", "safari15"],
    jsx: "automatic",
    jsxImportSource: "preact",
    metafile: true,
    legalComments: "none",
    sourcemap: false,
    define: { "process.env.NODE_ENV": '"production"', __WORLD_URL__: JSON.stringify(`/assets/${worldName}`) },
    logLevel: "warning",
  });
  const outputs = result.metafile.outputs;
  const rel = (f) => path.relative(outDir, f);
  const entry = Object.keys(outputs).find((f) => outputs[f].entryPoint && f.endsWith(".js"));
  const entryCss = entry && outputs[entry].cssBundle;
  if (!entry || !entryCss) throw new Error(`unexpected outputs: ${Object.keys(outputs).join(", ")}`);
  // esbuild gives a lazy chunk that reaches CSS a stylesheet of its own. The app links one
  // stylesheet: every CSS file must be imported by the initial code too (the explore pages'
  // styles are, from dashboard-page.tsx), so a chunk's stylesheet holds nothing new and is dropped.
  const inEntry = new Set(Object.keys(outputs[entryCss].inputs));
  for (const f of Object.keys(outputs).filter((f) => f.endsWith(".css") && f !== entryCss)) {
    const missing = Object.keys(outputs[f].inputs).filter((i) => !inEntry.has(i));
    if (missing.length) throw new Error(`${missing.join(", ")}: import it from the initial code, not only from a lazy chunk`);
    fs.rmSync(f);
    delete outputs[f];
  }
  const css = [rel(entryCss)];
  // Initial JavaScript: the entry and every chunk it imports statically, transitively.
  const initial = new Set();
  const visit = (f) => {
    if (initial.has(f)) return;
    initial.add(f);
    for (const i of outputs[f].imports) if (i.kind === "import-statement" && outputs[i.path]) visit(i.path);
  };
  visit(entry);
  const js = [...initial].map(rel);
  const lazy = Object.keys(outputs).filter((f) => f.endsWith(".js") && !initial.has(f)).map(rel);
  const template = fs.readFileSync(path.join(here, "index.html"), "utf8");
  // The entry's static imports are announced in the head (modulepreload): the browser fetches them
  // beside the entry instead of after it has parsed the entry and found the imports.
  const preload = js.filter((f) => f !== rel(entry)).map((f) => `<link rel="modulepreload" href="/${f}">`);
  const html = template
    .replace("<!--CSS-->", css.map((f) => `<link rel="stylesheet" href="/${f}">`).join("") + preload.join(""))
    .replace("<!--JS-->", `<script type="module" src="/${rel(entry)}"></script>`);
  fs.writeFileSync(path.join(outDir, "index.html"), html);
  const favicon = fs.readFileSync(path.join(here, "favicon.svg"));
  const iconName = `favicon-${createHash("sha256").update(favicon).digest("hex").slice(0, 8)}.svg`;
  fs.writeFileSync(path.join(outDir, "assets", iconName), favicon);
  fs.writeFileSync(
    path.join(outDir, "index.html"),
    fs.readFileSync(path.join(outDir, "index.html"), "utf8").replace("<!--ICON-->", `<link rel="icon" href="/assets/${iconName}" type="image/svg+xml">`),
  );
  return { js, css, lazy };
}

function gz(file) {
  return gzipSync(fs.readFileSync(file), { level: 9 }).length;
}

if (args.has("--tests")) {
  await buildTests();
} else if (args.has("--check")) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "web-dist-"));
  await buildApp(tmp);
  const dist = path.join(here, "dist");
  const list = (d) => (fs.existsSync(d) ? walk(d).map((f) => path.relative(d, f)).sort() : []);
  const a = list(tmp), b = list(dist);
  const differs =
    a.join("\n") !== b.join("\n") ||
    a.some((f) => !fs.readFileSync(path.join(tmp, f)).equals(fs.readFileSync(path.join(dist, f))));
  fs.rmSync(tmp, { recursive: true, force: true });
  if (differs) {
    console.error("web/dist does not match web/src: run scripts/build-web.sh and commit web/dist");
    process.exit(1);
  }
  console.log("web/dist matches its sources");
} else {
  // Built aside, then copied over dist/ file by file where the bytes differ: unchanged files keep
  // their modification time, so cargo does not rebuild the collector that embeds them.
  const dist = path.join(here, "dist");
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "web-dist-"));
  const { js, css, lazy } = await buildApp(tmp);
  const fresh = walk(tmp).map((f) => path.relative(tmp, f));
  const old = fs.existsSync(dist) ? walk(dist).map((f) => path.relative(dist, f)) : [];
  for (const f of old) if (!fresh.includes(f)) fs.rmSync(path.join(dist, f));
  for (const f of fresh) {
    const to = path.join(dist, f);
    const bytes = fs.readFileSync(path.join(tmp, f));
    if (!fs.existsSync(to) || !fs.readFileSync(to).equals(bytes)) {
      fs.mkdirSync(path.dirname(to), { recursive: true });
      fs.writeFileSync(to, bytes);
    }
  }
  fs.rmSync(tmp, { recursive: true, force: true });
  const jsGz = js.reduce((n, f) => n + gz(path.join(dist, f)), 0);
  const cssGz = css.reduce((n, f) => n + gz(path.join(dist, f)), 0);
  const kb = (n) => (n / 1024).toFixed(1) + " KB";
  console.log(`dashboard JS  ${kb(jsGz)} gzipped (budget ${kb(JS_BUDGET_GZ)})`);
  console.log(`dashboard CSS ${kb(cssGz)} gzipped (budget ${kb(CSS_BUDGET_GZ)})`);
  for (const f of lazy) console.log(`lazy chunk   ${kb(gz(path.join(dist, f)))} gzipped (${f}, loaded on demand)`);
  if (jsGz > JS_BUDGET_GZ || cssGz > CSS_BUDGET_GZ) {
    console.error("over budget");
    process.exit(1);
  }
}
