import { test } from "node:test";
import assert from "node:assert/strict";
import { relativeTime } from "./when";

const now = new Date("2026-03-10T12:00:00Z");
const ago = (s: number) => new Date(now.getTime() - s * 1000);

test("recent times", () => {
  assert.equal(relativeTime(ago(0), now), "just now");
  assert.equal(relativeTime(ago(44), now), "just now");
  assert.equal(relativeTime(ago(60), now), "1 minute ago");
  assert.equal(relativeTime(ago(180), now), "3 minutes ago");
  assert.equal(relativeTime(ago(44 * 60), now), "44 minutes ago");
  assert.equal(relativeTime(ago(60 * 60), now), "1 hour ago");
  assert.equal(relativeTime(ago(5 * 3600), now), "5 hours ago");
});

test("days, months, years", () => {
  assert.equal(relativeTime(ago(24 * 3600), now), "1 day ago");
  assert.equal(relativeTime(ago(3 * 86400), now), "3 days ago");
  assert.equal(relativeTime(ago(30 * 86400), now), "1 month ago");
  assert.equal(relativeTime(ago(120 * 86400), now), "4 months ago");
  assert.equal(relativeTime(ago(400 * 86400), now), "1 year ago");
  assert.equal(relativeTime(ago(3 * 365 * 86400), now), "3 years ago");
});

test("strings, the future and garbage", () => {
  assert.equal(relativeTime("2026-03-10T11:57:00Z", now), "3 minutes ago");
  assert.equal(relativeTime("2026-03-10T14:00:00Z", now), "in 2 hours");
  assert.equal(relativeTime("2026-03-10T12:00:20Z", now), "just now");
  assert.equal(relativeTime("not a time", now), "—");
});
