import { test } from "node:test";
import assert from "node:assert/strict";
import {
  addFilter, comparisonFields, defaultState, parseFilter, parseState, removeFilter, serializeFilter, serializeState, withState,
  type DashState,
} from "./url-state";

test("the empty query string is the default state, and serializes to nothing", () => {
  const s = parseState("");
  assert.deepEqual(s, defaultState());
  assert.equal(s.period, "30d");
  assert.equal(s.interval, "day");
  assert.equal(s.metric, "visitors");
  assert.equal(s.compare, null);
  assert.equal(serializeState(s), "");
  assert.deepEqual(parseState("?"), defaultState());
});

test("round trips", () => {
  const cases = [
    "?period=7d",
    "?period=day",
    "?period=custom&from=2026-01-01&to=2026-01-31",
    "?period=custom&from=2026-01-01&to=2026-01-31&interval=week",
    "?compare=year_over_year",
    "?period=12mo&interval=week&metric=bounce_rate",
    "?f=is,country,FR,BE&f=contains,page,/blog/",
    "?f=is,source,",
    "?f=matches,page,%5E/docs/.*%24",
    "?f=is,props.plan,Pro%2C%20yearly",
    "?sources=utm_campaign&pages=entry_page&locations=city&devices=os&events=props&prop=plan",
    "?goal=Sign%20up&details=sources",
    "?period=realtime",
    "?period=all&compare=previous_period&metric=visits",
    "?compare=year_over_year&match_day_of_week=true",
    "?period=7d&compare=custom&compare_from=2025-12-01&compare_to=2025-12-24",
  ];
  for (const q of cases) {
    const s = parseState(q);
    assert.equal(serializeState(s), q, q);
    assert.deepEqual(parseState(serializeState(s)), s, q);
  }
});

test("filters: values are URL-encoded one by one", () => {
  const s = parseState("?f=is,page,/a%2Cb,/c&f=is_not,event_name,pageview");
  assert.deepEqual(s.filters, [
    ["is", "page", ["/a,b", "/c"]],
    ["is_not", "event_name", ["pageview"]],
  ]);
  assert.equal(serializeFilter(["is", "city", ["Saint-Étienne", "a&b=c"]]), "is,city,Saint-%C3%89tienne,a%26b%3Dc");
  assert.deepEqual(parseFilter(serializeFilter(["is", "city", ["Saint-Étienne", "a&b=c"]])), ["is", "city", ["Saint-Étienne", "a&b=c"]]);
  assert.deepEqual(parseState("?f=is,page,a+b").filters, [["is", "page", ["a b"]]]);
});

test("invalid parameters fall back to defaults", () => {
  const s = parseState("?period=forever&compare=maybe&interval=minute&metric=bogus&sources=nope&details=x&goal=&f=like,page,x&f=is,page&f=is,%E0%A4%A,x&f=is,time:day,2026");
  assert.deepEqual(s, defaultState());
  assert.deepEqual(parseState("?period=custom&from=2026-02-30&to=2026-03-01"), defaultState());
  assert.deepEqual(parseState("?period=custom"), defaultState());
  assert.equal(parseState("?period=day&interval=month").interval, "hour");
  assert.doesNotThrow(() => parseState("?%=%&&==&f=%"));
});

test("custom dates given backwards are put in order", () => {
  const s = parseState("?period=custom&from=2026-01-31&to=2026-01-01");
  assert.equal(s.from, "2026-01-01");
  assert.equal(s.to, "2026-01-31");
});

test("changing the period resets an interval nobody chose", () => {
  const s = parseState("");
  assert.equal(withState(s, { period: "day" }).interval, "hour");
  assert.equal(withState(s, { period: "12mo" }).interval, "month");
  const weekly = parseState("?interval=week");
  assert.equal(withState(weekly, { period: "12mo" }).interval, "week", "a chosen interval stays while allowed");
  assert.equal(withState(weekly, { period: "day" }).interval, "hour");
  const custom = withState(parseState("?period=custom&from=2026-01-01&to=2026-01-31"), { period: "7d" });
  assert.equal(custom.from, null);
  assert.equal(serializeState(custom), "?period=7d");
});

test("adding and removing filters", () => {
  let f = addFilter([], ["is", "country", ["FR"]]);
  f = addFilter(f, ["is", "page", ["/"]]);
  f = addFilter(f, ["is", "country", ["DE"]]);
  assert.deepEqual(f, [["is", "page", ["/"]], ["is", "country", ["DE"]]]);
  f = addFilter(f, ["contains", "page", ["/blog"]]);
  assert.equal(f.length, 3);
  assert.deepEqual(removeFilter(f, 0), [["is", "country", ["DE"]], ["contains", "page", ["/blog"]]]);
  const s: DashState = { ...defaultState(), filters: f };
  assert.deepEqual(parseState(serializeState(s)).filters, f);
});

test("comparisons: named, matching the weekday, or the owner's own days", () => {
  assert.deepEqual(comparisonFields(parseState("")), {});
  assert.deepEqual(comparisonFields(parseState("?compare=previous_period")), { compare: "previous_period" });
  assert.deepEqual(comparisonFields(parseState("?compare=previous_period&match_day_of_week=true")), {
    compare: "previous_period",
    match_day_of_week: true,
  });
  const custom = parseState("?compare=custom&compare_from=2025-12-24&compare_to=2025-12-01");
  assert.deepEqual([custom.compareFrom, custom.compareTo], ["2025-12-01", "2025-12-24"], "put in order");
  assert.deepEqual(comparisonFields(custom), { compare: ["2025-12-01", "2025-12-24"] });
  // Malformed or partial: the comparison is off, and the weekday flag needs a named comparison.
  for (const q of ["?compare=custom", "?compare=custom&compare_from=2025-12-01", "?compare=custom&compare_from=x&compare_to=2025-12-01", "?match_day_of_week=true", "?compare=custom&compare_from=2025-12-01&compare_to=2025-12-02&match_day_of_week=true"]) {
    const s = parseState(q);
    assert.equal(s.matchDayOfWeek, false, q);
    if (!q.includes("compare_to=2025-12-02")) assert.deepEqual(s, defaultState(), q);
  }
  // Leaving a custom comparison forgets its days; leaving a named one forgets the weekday flag.
  const named = withState(custom, { compare: "year_over_year" });
  assert.equal(serializeState(named), "?compare=year_over_year");
  const matched = parseState("?compare=previous_period&match_day_of_week=true");
  assert.equal(serializeState(withState(matched, { compare: null })), "");
  assert.equal(serializeState(withState(matched, { compare: "year_over_year" })), "?compare=year_over_year&match_day_of_week=true");
  assert.equal(
    serializeState(withState(matched, { compare: "custom", compareFrom: "2025-01-01", compareTo: "2025-01-02" })),
    "?compare=custom&compare_from=2025-01-01&compare_to=2025-01-02",
  );
});
