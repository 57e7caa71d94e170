// Development server: serves web/dist (rebuilt on every change under src/) with the app's
// routes falling back to index.html, and proxies /api/* to a running collector, so the app can
// be worked on without rebuilding the collector.
//
//   COLLECTOR_URL=http://127.0.0.1:8080 PORT=5173 node dev.mjs
import * as esbuild from "esbuild";
import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";

const here = path.dirname(new URL(import.meta.url).pathname);
const collector = new URL(process.env.COLLECTOR_URL ?? "http://127.0.0.1:8080");
const port = Number(process.env.PORT ?? 5173);
const dist = path.join(here, "dist");

function rebuild() {
  const r = spawnSync(process.execPath, [path.join(here, "build.mjs")], { stdio: "inherit" });
  if (r.status !== 0) console.error("build failed");
}
rebuild();
let timer = null;
fs.watch(path.join(here, "src"), { recursive: true }, () => {
  clearTimeout(timer);
  timer = setTimeout(rebuild, 100);
});
void esbuild; // the build itself runs in build.mjs

const types = { ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".html": "text/html" };

http
  .createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname.startsWith("/api/") || url.pathname === "/pixel.js" || url.pathname.startsWith("/pixel.")) {
      const p = http.request(
        { host: collector.hostname, port: collector.port, path: req.url, method: req.method, headers: { ...req.headers, host: collector.host } },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      p.on("error", (e) => {
        res.writeHead(502, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: "collector unreachable: " + e.message, code: "dev_proxy" }));
      });
      req.pipe(p);
      return;
    }
    let file = path.join(dist, path.normalize(url.pathname));
    if (!file.startsWith(dist) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) file = path.join(dist, "index.html");
    res.writeHead(200, { "content-type": types[path.extname(file)] ?? "application/octet-stream", "cache-control": "no-store" });
    fs.createReadStream(file).pipe(res);
  })
  .listen(port, "127.0.0.1", () => console.log(`dashboard dev server: http://127.0.0.1:${port}/ (API: ${collector.origin})`));
