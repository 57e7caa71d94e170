import { test } from "node:test";
import assert from "node:assert/strict";
import { allowedMetrics, countryName, csvName, dimensionLabel, filterLabel, FILTER_DIMENSIONS, flag, hasEventFilter, isSessionFilter, valueLabel } from "./dimensions";

test("countries read as names with flags", () => {
  assert.equal(countryName("FR"), "France");
  assert.equal(countryName("de"), "Germany");
  assert.equal(countryName(""), "");
  assert.equal(flag("FR"), "🇫🇷");
  assert.equal(flag(""), "");
  assert.equal(flag("FRA"), "");
});

test("values and filters", () => {
  assert.equal(valueLabel("source", ""), "Direct / None");
  assert.equal(valueLabel("country", ""), "(none)");
  assert.equal(valueLabel("device", "mobile"), "Mobile");
  assert.equal(valueLabel("page", "/pricing"), "/pricing");
  assert.equal(dimensionLabel("props.plan"), "Property plan");
  assert.equal(filterLabel(["is", "country", ["FR"]]), "Country is France");
  assert.equal(filterLabel(["is", "country", ["FR", "BE"]]), "Country is France or Belgium");
  assert.equal(filterLabel(["is_not", "source", [""]]), "Source is not Direct / None");
  assert.equal(filterLabel(["contains", "page", ["/blog/"]]), "Page contains /blog/");
  assert.equal(filterLabel(["is", "city", ["a", "b", "c", "d"]]), "City is a, b or 2 more");
});

test("session metrics go away with event filters", () => {
  assert.ok(hasEventFilter([["is", "event_name", ["Signup"]]]));
  assert.ok(hasEventFilter([["is", "props.plan", ["Pro"]]]));
  assert.ok(!hasEventFilter([["is", "page", ["/"]]]));
  assert.ok(hasEventFilter([["is", "goal", ["Visit /docs/*"]]]), "a goal filter keeps completion events");
  assert.ok(isSessionFilter(["is", "entry_page", ["/"]]));
  assert.ok(!isSessionFilter(["is_not", "goal", ["Signup"]]));
  assert.equal(filterLabel(["is", "goal", ["Visit /docs/*"]]), "Goal is Visit /docs/*");
  assert.ok(!FILTER_DIMENSIONS.includes("goal"));
  assert.deepEqual(allowedMetrics(["visitors", "visits", "bounce_rate"], [["is", "event_name", ["x"]]]), ["visitors"]);
  assert.deepEqual(allowedMetrics(["visits"], [["is", "event_name", ["x"]]]), ["visitors"]);
  assert.deepEqual(allowedMetrics(["visits"], []), ["visits"]);
});

test("CSV file names", () => {
  assert.equal(csvName("shop.example", "30d"), "shop.example-30d.csv");
  assert.equal(csvName("My Shop!", "2026-01-01-2026-01-31"), "my-shop-2026-01-01-2026-01-31.csv");
  assert.equal(csvName("", ""), "site-period.csv");
});
