// How fast the dashboard shows its numbers, measured in headless Chromium (Debian's, through
// playwright-core) against a running collector. Prints figures; asserts nothing (machines here are
// noisy: targets are read off the figures, not enforced by a timer).
//
//   COLLECTOR_URL=… OWNER_EMAIL=… OWNER_PASSWORD=… PROJECT_ID=… [RUNS=10] [FILTER_RUNS=…]
//     [LIMIT_MS=180000] [PERIOD=30d] \
//     node e2e/bench-dashboard.mjs
//
// Figures (milliseconds from the navigation's start, `performance.now()` in the page):
//   cold     the first dashboard after the collector started (its caches empty)
//   warm     later loads of the same dashboard (a fresh page each time: no JS state kept, the
//            browser's HTTP cache holding the hashed assets as it would for a returning owner)
//   filter   clicking a country row (another each run) until every panel shows the filtered numbers
// "Shows its numbers" = every top stat has its value, the main graph has drawn, and no panel is
// loading (no [aria-busy=true] left).
import { launchChromium } from "./chromium.mjs";

const BASE = process.env.COLLECTOR_URL;
const PROJECT = process.env.PROJECT_ID;
const RUNS = Number(process.env.RUNS ?? 10);
/** Filter clicks measured (each after a fresh warm load); filtered queries read the raw events. */
const FILTER_RUNS = Number(process.env.FILTER_RUNS ?? RUNS);
/** Longest wait for one measurement before it is reported as over the budget. */
const LIMIT_MS = Number(process.env.LIMIT_MS ?? 180_000);
const PERIOD = process.env.PERIOD ?? "30d";

const browser = await launchChromium();
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
const login = await context.request.post(BASE + "/api/v1/login", {
  data: { email: process.env.OWNER_EMAIL, password: process.env.OWNER_PASSWORD },
});
if (!login.ok()) throw new Error("login: " + (await login.text()));

/** Resolves in the page once everything shows, with performance.now() at that moment. */
const shown = () =>
  new Promise((resolve) => {
    const check = () => {
      const stats = [...document.querySelectorAll('[data-testid^="top-stat-"]')];
      const ready =
        stats.length >= 6 &&
        stats.every((s) => s.hasAttribute("data-value")) &&
        document.querySelector('[data-testid="main-graph"] canvas') &&
        document.querySelectorAll('[data-testid^="panel-"]').length >= 5 &&
        !document.querySelector('[aria-busy="true"]');
      if (ready) resolve(performance.now());
      else requestAnimationFrame(check);
    };
    check();
  });

async function load(url) {
  const page = await context.newPage();
  await page.goto(url);
  // Defined through the DevTools protocol: the page's CSP allows no eval of its own.
  await page.evaluate(`window.__shown = ${shown.toString()}`);
  const ms = await page.evaluate(() => window.__shown());
  return { page, ms };
}

const url = `${BASE}/sites/${PROJECT}?period=${PERIOD}`;
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length - 1) * p))];
const ms = (x) => (Number.isFinite(x) ? `${x.toFixed(0)} ms` : `over ${LIMIT_MS} ms`);
const fmt = (xs) =>
  `p50 ${ms(pct(xs, 0.5))}, p95 ${ms(pct(xs, 0.95))}, min ${ms(Math.min(...xs))} (${xs.length} runs: ${xs.map((x) => (Number.isFinite(x) ? x.toFixed(0) : "over")).join(" ")})`;

const cold = await load(url);
await cold.page.close();
const warm = [];
const filter = [];
for (let i = 0; i < RUNS; i++) {
  const { page, ms } = await load(url);
  warm.push(ms);
  if (i >= FILTER_RUNS) {
    await page.close();
    continue;
  }
  page.setDefaultTimeout(LIMIT_MS);
  // A different country each run: a filter clicked before may be answered from the collector's
  // memo of recent answers (store-sqlite/src/digest.rs), which would not be the first click's cost.
  const ms2 = await page.evaluate(async ([limit, i]) => {
    const rows = document.querySelectorAll('[data-testid="panel-locations"] [data-testid="row"]');
    const row = rows[i % rows.length];
    const before = location.search;
    const t0 = performance.now();
    row.click();
    await new Promise((r) => {
      const wait = () => (location.search !== before ? r() : requestAnimationFrame(wait));
      wait();
    });
    // One frame for the new state's requests to start (panels mark themselves busy).
    await new Promise((r) => requestAnimationFrame(() => r()));
    const done = await Promise.race([window.__shown(), new Promise((r) => setTimeout(() => r(null), limit))]);
    return done === null ? Infinity : done - t0;
  }, [LIMIT_MS, i]);
  filter.push(ms2);
  await page.close();
}
console.log(`dashboard of ${PERIOD}, ${BASE}:`);
console.log(`  cold (first load after the collector started): ${cold.ms.toFixed(0)} ms`);
console.log(`  warm full dashboard: ${fmt(warm)}`);
console.log(`  filter click to every panel updated: ${fmt(filter)}`);
await browser.close();
