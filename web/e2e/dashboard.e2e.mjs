// The dashboard as an owner uses it, in headless Chromium (Debian's, through playwright-core),
// against the collector that tests/tests/dashboard.rs started and seeded. Every number read off
// the screen is compared with what the query API answers for the same question: the browser
// never computes a metric, so they must be equal.
//
// Environment (set by the Rust test): COLLECTOR_URL, OWNER_EMAIL, OWNER_PASSWORD, PROJECT_ID,
// INGEST_KEY, CHROMIUM_BIN, SCREENSHOT_DIR.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { axe, launch, shot, SHOW_TIMEOUT, waitFor, watch as watchErrors } from "./helpers.mjs";

const BASE = process.env.COLLECTOR_URL;
const PROJECT = process.env.PROJECT_ID;

let browser;
/** The owner's signed-in context and page. */
let owner;
let page;
/** Console errors and page errors seen anywhere, except those a step expects (wrong passwords). */
const consoleErrors = [];
let expectedErrors = 0;

function watch(p) {
  watchErrors(p, consoleErrors, (text) => {
    if (expectedErrors > 0 && /status of 40[13]/.test(text)) {
      expectedErrors--;
      return true;
    }
    return false;
  });
}

async function newContext(options = {}) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true, ...options });
  return ctx;
}

/** POST /api/v1/query with the owner's cookie, as the app would. */
async function api(method, url, data) {
  const res = await owner.request.fetch(BASE + url, { method, data, failOnStatusCode: false });
  const text = await res.text();
  assert.ok(res.ok(), `${method} ${url}: ${res.status()} ${text}`);
  return text ? JSON.parse(text) : null;
}
const query = (body) => api("POST", "/api/v1/query", { project_id: PROJECT, timezone: "UTC", ...body });

/** The raw API number an element shows (`data-value`), once it is there. */
async function valueOf(p, testid) {
  const el = p.getByTestId(testid);
  await el.and(p.locator("[data-value]")).waitFor({ timeout: SHOW_TIMEOUT });
  const v = await el.getAttribute("data-value");
  return v === "" || v === null ? null : Number(v);
}
const topStat = (p, metric) => valueOf(p, `top-stat-${metric}`);

const TOP = ["visitors", "visits", "pageviews", "views_per_visit", "bounce_rate", "visit_duration"];

async function expectTopStats(p, body) {
  const r = await query({ metrics: TOP, ...body });
  for (const [i, metric] of TOP.entries()) {
    // Top stats re-render when a new answer arrives: poll until the expected value shows.
    await assert.doesNotReject(
      waitFor(async () => (await topStat(p, metric)) === r.totals.metrics[i]),
      `top stat ${metric} should be ${r.totals.metrics[i]} for ${JSON.stringify(body)} (shows ${await topStat(p, metric)})`,
    );
  }
  return r;
}

/** The dimension values of a panel's rows, in order, once loaded. */
async function panelRows(p, panel) {
  const rows = p.getByTestId(`panel-${panel}`).getByTestId("row");
  await rows.first().waitFor({ timeout: SHOW_TIMEOUT });
  return rows.evaluateAll((els) => els.map((e) => e.getAttribute("data-value")));
}

before(async () => {
  browser = await launch();
  owner = await newContext();
  page = await owner.newPage();
  watch(page);
});

after(async () => {
  await browser?.close();
});

test("signing in through the form lands on the sites list", async () => {
  await page.goto(BASE + "/");
  await page.waitForURL(/\/login/);
  await axe(page, "login");
  await shot(page, "login-desktop-light");
  // A wrong password is refused with a message, and nothing else happens.
  expectedErrors++;
  await page.fill('input[name="email"]', process.env.OWNER_EMAIL);
  await page.fill('input[name="password"]', "not the password");
  await page.press('input[name="password"]', "Enter");
  await page.getByRole("alert").waitFor();
  await page.fill('input[name="password"]', process.env.OWNER_PASSWORD);
  await page.press('input[name="password"]', "Enter");
  await page.waitForURL(BASE + "/");
  await page.getByTestId("site-card").first().waitFor();
  const today = await query({ metrics: ["visitors"], date_range: "day" });
  await waitFor(async () => {
    const text = await page.getByTestId("site-visitors-today").first().textContent();
    return Number(text.replace(/[^0-9]/g, "")) === today.totals.metrics[0];
  });
  await axe(page, "sites");
  await shot(page, "sites-desktop-light");
});

test("the dashboard's top stats and panels show what the API answers", async () => {
  await page.getByTestId("site-card").first().click();
  await page.waitForURL(new RegExp(`/sites/${PROJECT}`));
  await expectTopStats(page, { date_range: "30d", compare: "previous_period" });
  for (const [panel, dimension, metric] of [
    ["sources", "source", "visitors"],
    ["pages", "page", "visitors"],
    ["locations", "country", "visitors"],
    ["devices", "browser", "visitors"],
  ]) {
    const shown = await panelRows(page, panel);
    const r = await query({ metrics: [metric], dimensions: [dimension], date_range: "30d", limit: shown.length });
    assert.deepEqual(shown, r.results.map((row) => String(row.dimensions[0] ?? "")), `panel ${panel}`);
  }
  await page.getByTestId("main-graph").locator("canvas").first().waitFor();
  await axe(page, "dashboard");
  for (const [width, scheme] of [[1280, "light"], [1280, "dark"], [375, "light"], [375, "dark"]]) {
    await page.setViewportSize({ width, height: 900 });
    await page.emulateMedia({ colorScheme: scheme });
    await page.waitForTimeout(250);
    await shot(page, `dashboard-${width === 375 ? "mobile" : "desktop"}-${scheme}`);
  }
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.emulateMedia({ colorScheme: "light" });
});

test("clicking a row filters every panel and the URL", async () => {
  const first = page.getByTestId("panel-locations").getByTestId("row").first();
  const country = await first.getAttribute("data-value");
  await first.click();
  await page.waitForURL((u) => u.search.includes("country"));
  assert.match(decodeURIComponent(page.url()), new RegExp(`country.*${country}`));
  await expectTopStats(page, { date_range: "30d", compare: "previous_period", filters: [["is", "country", [country]]] });
  const pages = await panelRows(page, "pages");
  const r = await query({ metrics: ["visitors"], dimensions: ["page"], date_range: "30d", filters: [["is", "country", [country]]], limit: pages.length });
  assert.deepEqual(pages, r.results.map((row) => String(row.dimensions[0] ?? "")));
  // A reload gives the same view; the back button the unfiltered one.
  await page.reload();
  await expectTopStats(page, { date_range: "30d", compare: "previous_period", filters: [["is", "country", [country]]] });
  await page.goBack();
  await expectTopStats(page, { date_range: "30d", compare: "previous_period" });
});

test("clicking a day on the graph opens that day by hour", async () => {
  const graph = page.getByTestId("main-graph");
  await graph.locator("canvas").first().waitFor();
  await graph.locator(".u-over").hover();
  assert.equal(await graph.locator(".chart-tip-hint").textContent(), "Click to see this day by hour");
  await graph.locator(".u-over").click();
  await page.waitForURL((u) => u.searchParams.get("period") === "custom");
  const url = new URL(page.url());
  const day = url.searchParams.get("from");
  assert.equal(url.searchParams.get("to"), day);
  await expectTopStats(page, { date_range: [day, day], compare: "previous_period" });
  await page.waitForFunction(() => document.querySelector('[data-testid="main-graph"]')?.getAttribute("data-interval") === "hour");
  await page.goBack();
  await expectTopStats(page, { date_range: "30d", compare: "previous_period" });
});

test("an owner notes a day on the graph, and sees it marked there", async () => {
  const graph = page.getByTestId("main-graph");
  await graph.locator("canvas").first().waitFor();
  await page.getByTestId("notes-button").click();
  const dialog = page.getByRole("dialog", { name: "Annotations" });
  await dialog.getByTestId("notes-empty").waitFor();
  // The form starts on the period's last day, today: the graph's last bucket.
  await dialog.getByLabel("Note").fill("Launched the new pricing page");
  await dialog.getByLabel("Note").press("Enter");
  await dialog.getByTestId("note-item").waitFor();
  const [note] = (await api("GET", `/api/v1/projects/${PROJECT}/annotations`)).annotations;
  assert.equal(note.text, "Launched the new pricing page");
  assert.equal(await dialog.getByTestId("note-item").getAttribute("data-date"), note.date);
  await axe(page, "annotations dialog");
  await page.setViewportSize({ width: 375, height: 800 });
  await page.emulateMedia({ colorScheme: "dark" });
  await page.waitForTimeout(250);
  await page.screenshot({ path: `${process.env.SCREENSHOT_DIR ?? "/tmp"}/annotations-dialog-mobile-dark.png` });
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.emulateMedia({ colorScheme: "light" });
  await page.keyboard.press("Escape");
  await dialog.waitFor({ state: "detached" });
  assert.equal(await graph.getAttribute("data-notes"), "1");
  assert.equal(await graph.getAttribute("data-marks"), "1");
  assert.match(await page.getByTestId("notes-button").textContent(), /Notes\s*1/);
  // Its bucket's tooltip says it.
  const over = graph.locator(".u-over");
  const box = await over.boundingBox();
  await over.hover({ position: { x: box.width - 1, y: box.height / 2 } });
  assert.equal(await graph.locator(".chart-tip-note").textContent(), "Launched the new pricing page");
  await shot(page, "annotations-desktop-light");
});

test("keyboard shortcuts change the period and the comparison", async () => {
  await page.keyboard.press("w");
  await page.waitForURL((u) => u.search.includes("period=7d"));
  await expectTopStats(page, { date_range: "7d", compare: "previous_period" });
  await page.keyboard.press("?");
  await page.getByRole("dialog").waitFor();
  await page.keyboard.press("Escape");
  await page.getByRole("dialog").waitFor({ state: "detached" });
  await page.keyboard.press("t");
  await page.waitForURL((u) => !u.search.includes("period=7d"));
});

/** The comparison values the top stats show (`data-previous`) equal the API's for `body`. */
async function expectComparison(p, body) {
  const r = await query({ metrics: TOP, ...body });
  const shown = async (metric) => {
    const v = await p.getByTestId(`top-stat-${metric}`).getAttribute("data-previous");
    return v === "" || v === null ? null : Number(v);
  };
  for (const [i, metric] of TOP.entries()) {
    const want = r.totals.comparison.metrics[i];
    await assert.doesNotReject(
      waitFor(async () => (await shown(metric)) === want),
      `top stat ${metric} should compare with ${want} for ${JSON.stringify(body)} (shows ${await shown(metric)})`,
    );
  }
  return r;
}

const isoDay = (daysAgo) => new Date(Date.now() - daysAgo * 86_400_000).toISOString().slice(0, 10);

test("the comparison menu: a year back, the same weekdays, or the owner's own days", async () => {
  const menu = page.getByTestId("compare-menu");
  await menu.click();
  await page.getByRole("link", { name: "Year over year" }).click();
  await page.waitForURL((u) => u.searchParams.get("compare") === "year_over_year");
  await expectComparison(page, { date_range: "30d", compare: "year_over_year" });

  await menu.click();
  await page.getByRole("link", { name: "Previous period" }).click();
  await page.waitForURL((u) => u.searchParams.get("compare") === "previous_period");
  await menu.click();
  await page.getByLabel("Match day of week").check();
  await page.waitForURL((u) => u.searchParams.get("match_day_of_week") === "true");
  // 30 days meet the 30 days five weeks earlier: the seeded month's first days against nothing.
  const matched = await expectComparison(page, { date_range: "30d", compare: "previous_period", match_day_of_week: true });
  assert.equal(matched.meta.comparison_date_range[0].slice(0, 10), isoDay(29 + 35));
  assert.match(await menu.textContent(), /vs previous period, same weekdays/);
  await page.keyboard.press("Escape");

  // Last 7 days against ten days of the owner's choice, typed into the menu's form.
  await page.keyboard.press("w");
  await page.waitForURL((u) => u.searchParams.get("period") === "7d");
  await menu.click();
  const own = page.getByRole("group", { name: "Compare with days of your choice" });
  const [from, to] = [isoDay(20), isoDay(11)];
  await own.getByLabel("From").fill(from);
  await own.getByLabel("To").fill(to);
  await page.getByRole("button", { name: /^Compare with / }).click();
  await page.waitForURL((u) => u.searchParams.get("compare") === "custom");
  const url = new URL(page.url());
  assert.deepEqual([url.searchParams.get("compare_from"), url.searchParams.get("compare_to")], [from, to]);
  assert.equal(url.searchParams.get("match_day_of_week"), null, "the weekday flag belongs to named comparisons");
  await expectComparison(page, { date_range: "7d", compare: [from, to] });
  assert.match(await menu.textContent(), /^vs /);
  // The graph's comparison line covers the 7 buckets (10 days are longer than 7).
  const graph = page.getByTestId("main-graph");
  await graph.locator(".graph-legend").waitFor();
  assert.match(await graph.locator(".graph-legend").textContent(), /–/);
  await shot(page, "compare-custom-desktop-light");
  // The open menu at 375 px in the dark, and axe with it open.
  await page.setViewportSize({ width: 375, height: 800 });
  await page.emulateMedia({ colorScheme: "dark" });
  await menu.click();
  await own.waitFor();
  await axe(page, "comparison menu");
  await page.screenshot({ path: `${process.env.SCREENSHOT_DIR ?? "/tmp"}/compare-menu-mobile-dark.png` });
  await page.keyboard.press("Escape");
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.emulateMedia({ colorScheme: "light" });
  // A reload keeps it all; "c" turns the comparison off and forgets the days.
  await page.reload();
  await expectComparison(page, { date_range: "7d", compare: [from, to] });
  await page.keyboard.press("c");
  await page.waitForURL((u) => !u.search.includes("compare"));
  await page.keyboard.press("t");
  await page.waitForURL((u) => !u.search.includes("period=7d"));
  await expectTopStats(page, { date_range: "30d", compare: "previous_period" });
});

test("an owner saves the filters as a segment, applies it from the menu, and deletes it", async () => {
  const menu = page.getByTestId("segments-menu");
  await menu.click();
  await page.getByTestId("segments-empty").waitFor();
  await page.keyboard.press("Escape");
  // Two filters by clicking rows, as an owner would.
  const countryRow = page.getByTestId("panel-locations").getByTestId("row").first();
  const country = await countryRow.getAttribute("data-value");
  await countryRow.click();
  await page.waitForURL((u) => u.search.includes("country"));
  const sourceRow = page.getByTestId("panel-sources").getByTestId("row").first();
  const source = await sourceRow.getAttribute("data-value");
  await sourceRow.click();
  await page.waitForURL((u) => u.searchParams.getAll("f").length === 2);
  const filters = [["is", "country", [country]], ["is", "source", [source]]];
  if (source) {
    // Filtered to one source, the Sources panel drills down to that source's referrers.
    const sources = page.getByTestId("panel-sources");
    await sources.getByText(`Referrers from ${source}`).waitFor();
    const r = await query({ metrics: ["visitors"], dimensions: ["referrer"], date_range: "30d", filters, limit: 9 });
    const want = r.results.map((row) => String(row.dimensions[0] ?? ""));
    assert.ok(want.length > 0, `${source} has referrers`);
    await assert.doesNotReject(
      waitFor(async () => JSON.stringify(await panelRows(page, "sources")) === JSON.stringify(want)),
      `the sources panel should list ${JSON.stringify(want)}`,
    );
  }

  await menu.click();
  await page.getByLabel("Save these 2 filters as a segment").fill("Top country, top source");
  await page.getByLabel("Save these 2 filters as a segment").press("Enter");
  await page.getByTestId("segment-item").waitFor();
  const { segments } = await api("GET", `/api/v1/projects/${PROJECT}/segments`);
  assert.deepEqual(segments.map((s) => [s.name, s.filters]), [["Top country, top source", filters]]);
  assert.equal(await page.getByTestId("segment-item").locator("a").getAttribute("aria-current"), "true");
  // The same name again is refused before it is sent.
  await page.getByLabel("Save these 2 filters as a segment").fill("top country, TOP SOURCE");
  assert.ok(await page.getByRole("button", { name: "Save", exact: true }).isDisabled());
  await axe(page, "segments menu");
  await page.setViewportSize({ width: 375, height: 800 });
  await page.emulateMedia({ colorScheme: "dark" });
  await page.waitForTimeout(250);
  await page.screenshot({ path: `${process.env.SCREENSHOT_DIR ?? "/tmp"}/segments-menu-mobile-dark.png` });
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.emulateMedia({ colorScheme: "light" });
  await page.keyboard.press("Escape");

  // Without the filters, one click on the segment brings them back, everywhere.
  await page.getByRole("button", { name: "Clear all" }).click();
  await page.waitForURL((u) => !u.search.includes("f="));
  await expectTopStats(page, { date_range: "30d", compare: "previous_period" });
  await menu.click();
  await page.getByRole("link", { name: /Top country, top source/ }).click();
  await page.waitForURL((u) => u.searchParams.getAll("f").length === 2);
  await expectTopStats(page, { date_range: "30d", compare: "previous_period", filters });
  assert.equal(await page.getByTestId("filter-chip").count(), 2);

  // Deleting asks first, in place.
  await menu.click();
  await page.getByRole("button", { name: "Delete the segment Top country, top source" }).click();
  await page.getByRole("group", { name: "Delete the segment Top country, top source?" }).getByRole("button", { name: "Delete" }).click();
  await page.getByTestId("segments-empty").waitFor();
  assert.deepEqual((await api("GET", `/api/v1/projects/${PROJECT}/segments`)).segments, []);
  await page.keyboard.press("Escape");
  await page.getByRole("button", { name: "Clear all" }).click();
  await page.waitForURL((u) => !u.search.includes("f="));
});

test("the CSV download is the API's CSV of the same query", async () => {
  const sent = page.waitForRequest((r) => r.url().endsWith("/query") && (r.headers()["accept"] ?? "").includes("text/csv"));
  const download = page.waitForEvent("download");
  await page.getByRole("button", { name: /export|csv|download/i }).first().click();
  const [request, file] = await Promise.all([sent, download]);
  const content = fs.readFileSync(await file.path(), "utf8");
  const res = await owner.request.fetch(request.url(), {
    method: "POST",
    data: request.postData(),
    headers: { accept: "text/csv", "content-type": "application/json" },
  });
  assert.equal(content, await res.text());
  assert.match(content.split("\r\n")[0], /^time:/);
});

test("the realtime view counts a visitor who just arrived", async () => {
  await page.keyboard.press("r");
  await page.waitForURL((u) => u.search.includes("period=realtime"));
  const before = await valueOf(page, "realtime-visitors");
  const res = await fetch(BASE + "/api/event", {
    method: "POST",
    headers: {
      "content-type": "text/plain",
      "user-agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15 e2e-" + Date.now(),
    },
    body: JSON.stringify({ k: process.env.INGEST_KEY, n: "pageview", u: "https://e2e.example/just-arrived" }),
  });
  assert.equal(res.status, 202);
  // The seeded visits end at the seeding time, so while this waits one of them can leave the
  // live window as the new visitor enters it (CI saw 2 stay 2): rather than `before + 1`, the view
  // must show the new visitor's page and, from the same refresh, the API's live count, which the
  // API says includes the new visitor.
  const arrived = async () =>
    (await query({ metrics: ["live_visitors"], filters: [["is", "page", ["/just-arrived"]]] })).results[0].metrics[0];
  await assert.doesNotReject(
    waitFor(async () => {
      if ((await arrived()) !== 1) return false;
      const pages = await page.getByTestId("panel-pages").getByTestId("row").allTextContents();
      if (!pages.some((t) => t.includes("/just-arrived"))) return false;
      const live = (await query({ metrics: ["live_visitors"] })).results[0].metrics[0];
      return (await valueOf(page, "realtime-visitors")) === live;
    }, 30_000),
    `live visitors should move from ${before} to the API's count with the new visitor`,
  );
  assert.equal(await arrived(), 1, "the API counts the new visitor as live");
  await shot(page, "realtime-desktop-light");
  await page.keyboard.press("t");
});

test("a share link shows the dashboard signed out, with and without a password", async () => {
  const open = await api("POST", `/api/v1/projects/${PROJECT}/shares`, { label: "e2e public" });
  const locked = await api("POST", `/api/v1/projects/${PROJECT}/shares`, { label: "e2e locked", password: "a share password" });
  const anon = await newContext();
  const p = await anon.newPage();
  watch(p);
  await p.goto(BASE + open.path);
  await expectTopStats(p, { date_range: "30d", compare: "previous_period" });
  // The owner's note shows on the shared graph, read-only.
  await p.getByTestId("notes-button").click();
  const notes = p.getByRole("dialog", { name: "Annotations" });
  await notes.getByTestId("note-item").waitFor();
  assert.equal(await notes.getByRole("button", { name: /delete/i }).count(), 0);
  assert.equal(await notes.locator("form").count(), 0);
  await p.keyboard.press("Escape");
  await axe(p, "share");
  await shot(p, "share-desktop-light");

  await p.goto(BASE + locked.path);
  expectedErrors++;
  await p.fill('input[type="password"]', "wrong password!");
  await p.press('input[type="password"]', "Enter");
  await p.getByRole("alert").waitFor();
  await p.fill('input[type="password"]', "a share password");
  await p.press('input[type="password"]', "Enter");
  await expectTopStats(p, { date_range: "30d", compare: "previous_period" });
  // The shared view answers only for its site: another project id in the body is ignored.
  const other = await p.request.post(BASE + `/api/v1/share/${open.slug}/query`, {
    data: { project_id: "0".repeat(24), metrics: ["visitors"], date_range: "30d" },
  });
  assert.equal(other.status(), 200);
  await anon.close();
});

test("the settings and account pages pass axe and look right", async () => {
  await page.goto(BASE + `/sites/${PROJECT}/settings`);
  await page.getByRole("heading").first().waitFor();
  await page.waitForLoadState("networkidle");
  await axe(page, "settings");
  await shot(page, "settings-desktop-light");
  await page.goto(BASE + "/account");
  await page.waitForLoadState("networkidle");
  await axe(page, "account");
  await shot(page, "account-desktop-light");
});

test("a reload opens the dashboard from what this browser remembers; signing out forgets it", async () => {
  await page.goto(BASE + `/sites/${PROJECT}`);
  await expectTopStats(page, { date_range: "30d", compare: "previous_period" });
  const remembered = () =>
    page.evaluate(() => ({ user: localStorage.getItem("metrics.user"), sites: localStorage.getItem("metrics.sites") }));
  const before = await remembered();
  assert.equal(JSON.parse(before.user).email, process.env.OWNER_EMAIL);
  assert.ok(JSON.parse(before.sites).some((s) => s.id === PROJECT), before.sites);
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.waitForURL(/\/login/);
  assert.deepEqual(await remembered(), { user: null, sites: null });
  // Signed out, a dashboard's address shows the sign-in page (and asks nothing that would 401).
  await page.goto(BASE + `/sites/${PROJECT}`);
  await page.waitForURL(/\/login\?next=/);
  await page.locator('input[name="email"]').waitFor();
});

test("no console errors anywhere", () => {
  assert.deepEqual(consoleErrors, []);
});
