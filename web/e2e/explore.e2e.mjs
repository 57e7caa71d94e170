// Goals, funnels, journeys and sessions as an owner uses them, in headless Chromium, against the
// collector that tests/tests/dashboard.rs started and seeded (after dashboard.e2e.mjs). What the
// pages show is compared with what the API answers for the same question (the browser computes
// no metric); the goal, the funnel and the journey are built through the forms and clicks a
// person would use.
//
// Environment (set by the Rust test): COLLECTOR_URL, OWNER_EMAIL, OWNER_PASSWORD, PROJECT_ID,
// CHROMIUM_BIN, SCREENSHOT_DIR.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { axe, launch, shot, SHOW_TIMEOUT, waitFor, watch } from "./helpers.mjs";

const BASE = process.env.COLLECTOR_URL;
const PROJECT = process.env.PROJECT_ID;
const SITE = `${BASE}/sites/${PROJECT}`;
/** The period every page is looked at over (the dashboard's default), in the site's zone. */
const SCOPE = { project_id: PROJECT, date_range: "30d", timezone: "UTC" };

let browser;
let owner;
let page;
const consoleErrors = [];

async function api(method, url, data) {
  const res = await owner.request.fetch(BASE + url, { method, data, failOnStatusCode: false });
  const text = await res.text();
  assert.ok(res.ok(), `${method} ${url}: ${res.status()} ${text}`);
  return text ? JSON.parse(text) : null;
}
const query = (body) => api("POST", "/api/v1/query", { ...SCOPE, ...body });

/** Screenshots of the page as it is, at desktop and 375 px width, light and dark. */
async function shots(name) {
  for (const [width, scheme] of [[1280, "light"], [1280, "dark"], [375, "light"], [375, "dark"]]) {
    await page.setViewportSize({ width, height: 900 });
    await page.emulateMedia({ colorScheme: scheme });
    await page.waitForTimeout(250);
    await shot(page, `${name}-${width === 375 ? "mobile" : "desktop"}-${scheme}`);
  }
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.emulateMedia({ colorScheme: "light" });
}

/** The `data-*` attributes of every element with this test id, once the first is there. */
async function dataOf(testid, root = page, state = "visible") {
  const els = root.getByTestId(testid);
  await els.first().waitFor({ state, timeout: SHOW_TIMEOUT });
  return els.evaluateAll((list) => list.map((e) => ({ ...e.dataset })));
}

before(async () => {
  browser = await launch();
  owner = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await owner.newPage();
  watch(page, consoleErrors);
  // Signing in through the form is dashboard.e2e.mjs's test; here the API's login sets the cookie.
  const res = await owner.request.post(BASE + "/api/v1/login", {
    data: { email: process.env.OWNER_EMAIL, password: process.env.OWNER_PASSWORD },
  });
  assert.equal(res.status(), 200);
});

after(async () => {
  await browser?.close();
});

/** The site's top custom event and its pages, most visited first, from the query API. */
async function traffic() {
  const events = await query({ metrics: ["visitors"], dimensions: ["event_name"], limit: 20 });
  const custom = events.results.map((r) => r.dimensions[0]).filter((n) => !["pageview", "path_change", "page_exit"].includes(n));
  const pages = await query({ metrics: ["visitors"], dimensions: ["page"], limit: 20 });
  assert.ok(custom.length > 0 && pages.results.length >= 3, "the seeded site has custom events and pages");
  return { event: custom[0], pages: pages.results.map((r) => r.dimensions[0]) };
}

test("goals are added in the settings and the goals panel shows what the API answers", async () => {
  const { event, pages } = await traffic();
  await page.goto(`${SITE}/settings#goals`);
  const section = page.locator("#goals");
  await section.getByRole("button", { name: "Add goal" }).waitFor();
  await section.getByLabel("Event name").fill(event);
  await section.getByRole("button", { name: "Add goal" }).click();
  await section.getByTestId("goal-item").filter({ hasText: event }).waitFor();
  await section.getByLabel("Goal type").selectOption("page");
  // A page goal with a wildcard when the site has pages below a folder (`/docs/*`).
  const deep = pages.find((p) => p.split("/").length > 2);
  const pattern = deep ? deep.replace(/[^/]*$/, "*") : pages[1];
  await section.getByLabel("Page path").fill(pattern);
  await section.getByRole("button", { name: "Add goal" }).click();
  await section.getByTestId("goal-item").nth(1).waitFor();
  const goals = await api("GET", `/api/v1/projects/${PROJECT}/goals`);
  assert.deepEqual(
    goals.goals.map((g) => [g.event, g.page]),
    [
      [event, null],
      [null, pattern],
    ],
  );
  await page.waitForLoadState("networkidle");
  await axe(page, "settings with goals");

  await page.goto(SITE);
  const panel = page.getByTestId("panel-goals");
  const shown = await dataOf("row", panel);
  const r = await query({ metrics: ["visitors", "events", "conversion_rate"], dimensions: ["goal"], limit: 100 });
  assert.deepEqual(
    shown.map((row) => [row.value, Number(row.metricValue)]),
    r.results.map((row) => [row.dimensions[0], row.metrics[0]]),
  );
  assert.deepEqual(r.results.map((row) => row.dimensions[0]).sort(), goals.goals.map((g) => g.name).sort());
  // A row filters the whole dashboard by its goal.
  const name = r.results[0].dimensions[0];
  await panel.getByTestId("row").first().click();
  await page.waitForURL((u) => decodeURIComponent(u.search).includes(`is,goal,${name}`));
  const filtered = await query({ metrics: ["visitors"], filters: [["is", "goal", [name]]] });
  await assert.doesNotReject(
    waitFor(async () => Number(await page.getByTestId("top-stat-visitors").getAttribute("data-value")) === filtered.totals.metrics[0]),
    `visitors with the goal ${name} should be ${filtered.totals.metrics[0]}`,
  );
  await page.waitForLoadState("networkidle");
  await axe(page, "dashboard filtered by a goal");
  await page.goBack();
  await page.getByTestId("panel-goals").getByTestId("row").first().waitFor();
  await shot(page, "goals-desktop-light");
});

test("a funnel built through the form shows the funnel API's answer, and is saved, reopened and deleted", async () => {
  const { event, pages } = await traffic();
  // The views' navigation keeps the period.
  await page.goto(`${SITE}?period=7d`);
  await page.getByTestId("site-nav").getByRole("link", { name: "Funnels" }).click();
  await page.waitForURL((u) => u.pathname.endsWith("/funnels") && u.search.includes("period=7d"));
  await page.getByTestId("site-nav").getByRole("link", { name: "Funnels" }).waitFor();
  await page.goto(`${SITE}/funnels`);

  await page.getByLabel("Step 1 page path").fill(pages[0]);
  await page.getByLabel("Step 2 page path").fill(pages[1]);
  await page.getByRole("button", { name: "Add a step" }).click();
  await page.getByLabel("Step 3 type").selectOption("event");
  await page.getByLabel("Step 3 event name").fill(event);
  await page.getByRole("button", { name: "Show funnel" }).click();
  await page.waitForURL((u) => u.search.includes("step="));
  const steps = [{ page: pages[0] }, { page: pages[1] }, { event }];
  const want = await api("POST", "/api/v1/funnel", { ...SCOPE, steps });
  const expected = want.steps.map((s) => ({
    label: s.label,
    visitors: String(s.visitors),
    conversionRate: String(s.conversion_rate),
    dropOff: String(s.drop_off),
    dropOffRate: String(s.drop_off_rate),
    medianMs: s.median_ms_from_previous === null ? "" : String(s.median_ms_from_previous),
  }));
  await assert.doesNotReject(
    waitFor(async () => JSON.stringify((await dataOf("funnel-step")).map(({ testid, ...d }) => d)) === JSON.stringify(expected)),
    `the funnel should show ${JSON.stringify(expected)}`,
  );
  assert.ok(want.steps[0].visitors > 0, "the seeded traffic reaches the first step");
  await axe(page, "funnels");

  // Save it: the URL names it, a reload shows it again.
  await page.getByLabel("Save these steps as").fill("E2E signup funnel");
  await page.getByRole("button", { name: "Save funnel" }).click();
  await page.waitForURL((u) => u.search.includes("funnel="));
  const saved = await api("GET", `/api/v1/projects/${PROJECT}/funnels`);
  const mine = saved.funnels.find((f) => f.name === "E2E signup funnel");
  assert.deepEqual(mine?.steps, steps);
  assert.ok(page.url().includes(`funnel=${mine.id}`));
  await page.goto(`${SITE}/funnels?funnel=${mine.id}`);
  await page.waitForURL((u) => u.search.includes("step="));
  assert.equal(await page.getByTestId("saved-funnels").inputValue(), mine.id);
  assert.equal((await dataOf("funnel-step")).length, 3);
  await shots("funnels");

  await page.getByRole("button", { name: "Delete funnel E2E signup funnel" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Delete funnel" }).click();
  await page.waitForURL((u) => !u.search.includes("funnel="));
  assert.equal((await api("GET", `/api/v1/projects/${PROJECT}/funnels`)).funnels.some((f) => f.id === mine.id), false);
});

/** The journey nodes on screen as the API describes them. */
async function shownNodes() {
  return (await dataOf("journey-node")).map((n) => [Number(n.depth), n.kind, n.value, Number(n.visitors)]).sort();
}

test("journeys draw the journeys API's nodes and links, and a click on a node follows it", async () => {
  await page.goto(`${SITE}/journeys`);
  const want = await api("POST", "/api/v1/journeys", { ...SCOPE, depth: 3, limit: 10 });
  assert.ok(want.nodes.length > 3, "the seeded traffic has journeys");
  const expected = want.nodes.map((n) => [n.depth, n.kind, n.value, n.visitors]).sort();
  await assert.doesNotReject(waitFor(async () => JSON.stringify(await shownNodes()) === JSON.stringify(expected)), "journey nodes");
  const links = (await dataOf("journey-link", page, "attached")).map((l) => [Number(l.from), Number(l.to), Number(l.visitors)]).sort();
  assert.deepEqual(links, want.links.map((l) => [l.from, l.to, l.visitors]).sort());
  const depths = (await dataOf("journey-depth")).map((d) => [Number(d.depth), Number(d.visitors), Number(d.dropOff)]);
  assert.deepEqual(depths, want.depths.map((d) => [d.depth, d.visitors, d.drop_off]));
  await axe(page, "journeys");
  await shots("journeys");

  // Follow the busiest page at depth 2, by keyboard: it becomes the start.
  const next = want.nodes.filter((n) => n.depth === 2 && n.kind === "page").sort((a, b) => b.visitors - a.visitors)[0];
  const node = page.locator(`[data-testid="journey-node"][data-depth="2"][data-value="${next.value}"]`);
  await node.focus();
  await page.keyboard.press("Enter");
  await page.waitForURL((u) => new URLSearchParams(u.search).get("start") === next.value);
  assert.equal(await page.getByTestId("journey-start").textContent(), next.value);
  const followed = await api("POST", "/api/v1/journeys", { ...SCOPE, start: next.value, depth: 3, limit: 10 });
  const wantFollowed = followed.nodes.map((n) => [n.depth, n.kind, n.value, n.visitors]).sort();
  await assert.doesNotReject(waitFor(async () => JSON.stringify(await shownNodes()) === JSON.stringify(wantFollowed)), "followed journey");
  // The depth is in the URL too; Back returns to the journey before.
  await page.getByLabel("Steps", { exact: true }).selectOption("4");
  await page.waitForURL((u) => u.search.includes("depth=4"));
  await page.goBack();
  await page.goBack();
  await page.waitForURL((u) => !u.search.includes("start="));
});

/** The sessions API's page for this period, as the page asks for it. */
function sessionsUrl(cursor) {
  const q = new URLSearchParams({ date_range: "30d", timezone: "UTC", limit: "25" });
  if (cursor) q.set("cursor", cursor);
  return `/api/v1/projects/${PROJECT}/sessions?${q}`;
}

test("the sessions list pages like the API, and a row opens the session's timeline", async () => {
  await page.goto(`${SITE}/sessions`);
  const first = await api("GET", sessionsUrl());
  assert.equal(first.sessions.length, 25, "the seeded site has more than a page of sessions");
  await assert.doesNotReject(
    waitFor(async () => JSON.stringify((await dataOf("session-row")).map((r) => r.id)) === JSON.stringify(first.sessions.map((s) => s.id))),
    "first page of sessions",
  );
  await axe(page, "sessions");
  await shots("sessions");

  await page.getByTestId("sessions-older").click();
  await page.waitForURL((u) => u.search.includes("cursor="));
  const second = await api("GET", sessionsUrl(first.next_cursor));
  await assert.doesNotReject(
    waitFor(async () => JSON.stringify((await dataOf("session-row")).map((r) => r.id)) === JSON.stringify(second.sessions.map((s) => s.id))),
    "second page of sessions",
  );

  const row = page.getByTestId("session-row").nth(2);
  const id = await row.getAttribute("data-id");
  await row.click();
  await page.waitForURL((u) => u.pathname.endsWith(`/sessions/${id}`));
  const detail = await api("GET", `/api/v1/projects/${PROJECT}/sessions/${id}`);
  const events = await dataOf("timeline-event");
  assert.deepEqual(
    events.map((e) => [e.name, e.path]),
    detail.events.map((e) => [e.name, e.path]),
  );
  assert.equal(await page.getByTestId("session-pageviews").textContent(), String(detail.session.pageviews));
  await axe(page, "session");
  await shots("session");
  // Back to the list: the same page of it.
  await page.getByRole("link", { name: "Back to sessions" }).click();
  await page.waitForURL((u) => u.pathname.endsWith("/sessions") && u.search.includes("cursor="));
  await page.getByTestId("session-row").first().waitFor();
});

test("no console errors anywhere", () => {
  assert.deepEqual(consoleErrors, []);
});
