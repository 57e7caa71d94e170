import { test } from "node:test";
import assert from "node:assert/strict";
import { clockTime, dateTime, durationMs, eventKind, eventText, sinceStart } from "./explore-format";

test("times read in the site's time zone", () => {
  assert.equal(clockTime("2026-01-05T13:05:09Z", "UTC"), "13:05:09");
  assert.equal(clockTime("2026-01-05T13:05:09Z", "Europe/Paris"), "14:05:09");
  assert.equal(dateTime("2026-01-05T23:30:00Z", "Europe/Paris"), "6 Jan 2026, 00:30");
  assert.equal(clockTime("2026-01-05T13:05:09Z", "Not/AZone"), "13:05:09", "an unknown zone reads as UTC");
  assert.equal(clockTime("nonsense", "UTC"), "nonsense");
});

test("offsets from the session's start and durations", () => {
  const start = "2026-01-05T13:00:00Z";
  assert.equal(sinceStart(start, start), "+0:00");
  assert.equal(sinceStart("2026-01-05T13:02:05.900Z", start), "+2:05");
  assert.equal(sinceStart("2026-01-05T14:02:03Z", start), "+1:02:03");
  assert.equal(durationMs(185_000), "3m 05s");
  assert.equal(durationMs(null), "—");
});

test("timeline entries say what happened", () => {
  const e = { path: "/pricing", duration_ms: null, scroll_depth: null };
  assert.equal(eventText({ ...e, name: "pageview" }), "Viewed /pricing");
  assert.equal(eventText({ ...e, name: "path_change" }), "Went to /pricing");
  assert.equal(eventText({ ...e, name: "page_exit", duration_ms: 45_000, scroll_depth: 80 }), "Left /pricing after 45s, scrolled 80%");
  assert.equal(eventText({ ...e, name: "page_exit" }), "Left /pricing");
  assert.equal(eventText({ ...e, name: "Signup" }), "Signup on /pricing");
  assert.equal(eventKind({ name: "Signup" }), "custom");
});
