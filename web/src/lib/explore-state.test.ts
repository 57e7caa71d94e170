import { test } from "node:test";
import assert from "node:assert/strict";
import {
  cleanSteps, DEFAULT_JOURNEY_DEPTH, funnelParams, journeyParams, MAX_FUNNEL_STEPS, MAX_SESSION_PAGES, parseFunnelView,
  parseJourneyView, parseSessionsView, parseStep, sameSteps, serializeStep, sessionsApiParams, sessionsApiQuery, sessionsParams,
} from "./explore-state";
import { joinQuery, pageParams, parseState, sharedQuery, stateSearch } from "./url-state";

test("funnel steps are kind:value, one step= each, in order, and round trip", () => {
  const steps = [{ page: "/" }, { page: "/docs/*" }, { event: "Sign up, yearly" }, { goal: "66a1b2c3d4e5f60718293a4b" }];
  const params = funnelParams({ steps, funnel: null });
  assert.deepEqual(params, ["step=page:/", "step=page:/docs/*", "step=event:Sign%20up%2C%20yearly", "step=goal:66a1b2c3d4e5f60718293a4b"]);
  const back = parseFunnelView(joinQuery(params));
  assert.deepEqual(back, { steps, funnel: null });
  assert.equal(serializeStep({ event: "a&b=c" }), "event:a%26b%3Dc");
  assert.deepEqual(parseFunnelView("?step=event:a%26b%3Dc").steps, [{ event: "a&b=c" }]);
  // A colon in the value belongs to the value.
  assert.deepEqual(parseStep("page:/a:b"), { page: "/a:b" });
});

test("malformed funnel steps are left out, and at most 8 are kept", () => {
  const v = parseFunnelView("?step=page&step=url:/x&step=page:&step=page:%20&step=%E0%A4%A&step=event:ok&funnel=../x");
  assert.deepEqual(v, { steps: [{ event: "ok" }], funnel: null });
  const many = joinQuery(Array.from({ length: 12 }, (_, i) => `step=page:/p${i}`));
  assert.equal(parseFunnelView(many).steps.length, MAX_FUNNEL_STEPS);
  assert.equal(parseFunnelView("?funnel=abc123&step=page:/").funnel, "abc123");
});

test("the builder's rows become steps only when 2 to 8 are filled", () => {
  assert.equal(cleanSteps([{ kind: "page", value: "/" }, { kind: "event", value: "  " }]), null);
  assert.deepEqual(cleanSteps([{ kind: "page", value: " / " }, { kind: "event", value: "" }, { kind: "event", value: "signup" }]), [
    { page: "/" },
    { event: "signup" },
  ]);
  assert.equal(cleanSteps(Array.from({ length: 9 }, () => ({ kind: "page" as const, value: "/" }))), null);
  assert.ok(sameSteps([{ page: "/" }], [{ page: "/" }]));
  assert.ok(!sameSteps([{ page: "/" }], [{ event: "/" }]));
});

test("journey start and depth: defaults left out, bad values fall back", () => {
  assert.deepEqual(parseJourneyView(""), { start: null, depth: DEFAULT_JOURNEY_DEPTH });
  assert.deepEqual(parseJourneyView("?start=/pricing&depth=5"), { start: "/pricing", depth: 5 });
  assert.deepEqual(parseJourneyView("?start=%20&depth=9"), { start: null, depth: DEFAULT_JOURNEY_DEPTH });
  assert.deepEqual(parseJourneyView("?depth=2.5"), { start: null, depth: DEFAULT_JOURNEY_DEPTH });
  assert.deepEqual(journeyParams({ start: "/docs/*", depth: 3 }), ["start=/docs/*"]);
  assert.deepEqual(journeyParams({ start: null, depth: 6 }), ["depth=6"]);
  const q = joinQuery(journeyParams({ start: "/a b?c", depth: 1 }));
  assert.deepEqual(parseJourneyView(q), { start: "/a b?c", depth: 1 });
});

test("sessions bounds and page cursors round trip, and become the API's parameters", () => {
  const v = parseSessionsView("?min_duration=30&max_pageviews=5&cursor=abc&cursor=def");
  assert.deepEqual(v, { minDuration: 30, maxDuration: null, minPageviews: null, maxPageviews: 5, cursors: ["abc", "def"] });
  assert.deepEqual(parseSessionsView(joinQuery(sessionsParams(v))), v);
  assert.deepEqual(sessionsApiParams(v, 25), [
    ["limit", "25"],
    ["min_duration_ms", "30000"],
    ["max_pageviews", "5"],
    ["cursor", "def"],
  ]);
  const q = new URLSearchParams(sessionsApiQuery({ date_range: ["2026-01-01", "2026-01-31"], timezone: "Europe/Paris", filters: [["is", "country", ["FR"]]] }, v, 25));
  assert.equal(q.get("date_range"), "2026-01-01,2026-01-31");
  assert.equal(q.get("timezone"), "Europe/Paris");
  assert.deepEqual(JSON.parse(q.get("filters")!), [["is", "country", ["FR"]]]);
  assert.equal(q.get("cursor"), "def");
  assert.equal(q.get("min_duration_ms"), "30000");
  assert.equal(new URLSearchParams(sessionsApiQuery({ date_range: "7d", timezone: "UTC" }, parseSessionsView(""), 25)).toString(), "date_range=7d&timezone=UTC&limit=25");
  const bad = parseSessionsView("?min_duration=-1&max_duration=1e3&min_pageviews=x&cursor=%3Cscript%3E");
  assert.deepEqual(bad, { minDuration: null, maxDuration: null, minPageviews: null, maxPageviews: null, cursors: [] });
  const deep = joinQuery(Array.from({ length: 60 }, (_, i) => `cursor=c${i}`));
  assert.equal(parseSessionsView(deep).cursors.length, MAX_SESSION_PAGES);
});

test("a page's own parameters survive a change of the dashboard state; page cursors only while the scope stays", () => {
  const search = "?period=7d&f=is,country,FR&step=page:/&step=event:signup&cursor=abc";
  assert.deepEqual(pageParams(search), ["step=page:/", "step=event:signup", "cursor=abc"]);
  const s = parseState(search);
  assert.equal(stateSearch(s, { details: null }, search), "?period=7d&f=is,country,FR&step=page:/&step=event:signup&cursor=abc");
  assert.equal(stateSearch(s, { period: "30d" }, search), "?f=is,country,FR&step=page:/&step=event:signup");
  assert.equal(stateSearch(s, { filters: [] }, search), "?period=7d&step=page:/&step=event:signup");
  assert.equal(stateSearch(parseState(""), { period: "day" }, ""), "?period=day");
});

test("going from one view to another keeps the period and the filters only", () => {
  const s = parseState("?period=custom&from=2026-01-01&to=2026-01-31&interval=week&compare=year_over_year&f=is,source,Google&sources=referrer&details=pages");
  assert.equal(sharedQuery(s), "?period=custom&from=2026-01-01&to=2026-01-31&f=is,source,Google");
  assert.equal(sharedQuery(parseState("?metric=visits")), "");
  assert.equal(joinQuery("", []), "");
  assert.equal(joinQuery("?period=7d", ["depth=4"]), "?period=7d&depth=4");
});
