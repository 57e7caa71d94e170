import { test } from "node:test";
import assert from "node:assert/strict";
import { change, compactNumber, duration, fullNumber, metricValue, percent } from "./format";

test("compact numbers", () => {
  assert.equal(compactNumber(0), "0");
  assert.equal(compactNumber(9999), "9,999");
  assert.equal(compactNumber(10_000), "10k");
  assert.equal(compactNumber(12_345), "12.3k");
  assert.equal(compactNumber(123_456), "123k");
  assert.equal(compactNumber(999_999), "1M");
  assert.equal(compactNumber(1_500_000), "1.5M");
  assert.equal(compactNumber(2_100_000_000), "2.1B");
  assert.equal(compactNumber(-12_345), "-12.3k");
  assert.equal(compactNumber(null), "—");
  assert.equal(compactNumber(NaN), "—");
});

test("full numbers keep two decimals at most", () => {
  assert.equal(fullNumber(1234567), "1,234,567");
  assert.equal(fullNumber(2.5), "2.5");
  assert.equal(fullNumber(1234.567), "1,234.57");
  assert.equal(fullNumber(3.1), "3.1");
  assert.equal(fullNumber(undefined), "—");
});

test("durations", () => {
  assert.equal(duration(0), "0s");
  assert.equal(duration(44.6), "45s");
  assert.equal(duration(185), "3m 05s");
  assert.equal(duration(3720), "1h 02m");
  assert.equal(duration(null), "—");
  assert.equal(duration(-5), "0s");
});

test("percent and change", () => {
  assert.equal(percent(41.52), "41.5%");
  assert.equal(percent(100), "100%");
  assert.equal(percent(null), "—");
  assert.equal(change(12.4), "+12%");
  assert.equal(change(-3.46), "-3.5%");
  assert.equal(change(0), "0%");
  assert.equal(change(null), "—");
});

test("metric values by kind", () => {
  assert.equal(metricValue("visitors", 12345), "12.3k");
  assert.equal(metricValue("visitors", 12345, false), "12,345");
  assert.equal(metricValue("bounce_rate", 47.12), "47.1%");
  assert.equal(metricValue("visit_duration", 80.33), "1m 20s");
  assert.equal(metricValue("views_per_visit", 2.34), "2.34");
  assert.equal(metricValue("page", "/pricing"), "/pricing");
});
