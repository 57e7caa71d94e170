import { test } from "node:test";
import assert from "node:assert/strict";
import {
  addDays, addMonths, allowedIntervals, bucketLabel, compareLabel, defaultInterval, formatMetaRange,
  formatRange, isDate, periodDates, periodLabel, queryDateRange, realtimeRange, shiftPeriod, todayIn, weekday,
  zoomPeriod,
} from "./dates";

test("today is the site's, not the browser's", () => {
  const now = new Date("2026-10-31T23:30:00Z");
  assert.equal(todayIn("UTC", now), "2026-10-31");
  assert.equal(todayIn("Europe/Paris", now), "2026-11-01");
  assert.equal(todayIn("America/Los_Angeles", now), "2026-10-31");
  assert.equal(todayIn("Pacific/Kiritimati", new Date("2026-12-31T10:00:00Z")), "2027-01-01");
  assert.equal(todayIn("Not/AZone", now), "2026-10-31");
});

test("date arithmetic", () => {
  assert.equal(addDays("2026-03-01", -1), "2026-02-28");
  assert.equal(addDays("2024-02-28", 1), "2024-02-29");
  assert.equal(addMonths("2026-03-31", -1), "2026-02-01");
  assert.equal(addMonths("2026-01-15", -5), "2025-08-01");
  assert.ok(isDate("2026-02-28"));
  assert.ok(!isDate("2026-02-30"));
  assert.ok(!isDate("26-02-01"));
  assert.ok(!isDate("1999-12-31"));
  assert.equal(weekday("2026-01-05"), 0); // a Monday
  assert.equal(weekday("2026-01-11"), 6);
});

test("period dates", () => {
  const t = "2026-10-08";
  assert.deepEqual(periodDates("day", null, null, t), [t, t]);
  assert.deepEqual(periodDates("yesterday", null, null, t), ["2026-10-07", "2026-10-07"]);
  assert.deepEqual(periodDates("7d", null, null, t), ["2026-10-02", t]);
  assert.deepEqual(periodDates("30d", null, null, t), ["2026-09-09", t]);
  assert.deepEqual(periodDates("month", null, null, t), ["2026-10-01", t]);
  assert.deepEqual(periodDates("last_month", null, null, t), ["2026-09-01", "2026-09-30"]);
  assert.deepEqual(periodDates("6mo", null, null, t), ["2026-05-01", t]);
  assert.deepEqual(periodDates("12mo", null, null, t), ["2025-11-01", t]);
  assert.deepEqual(periodDates("custom", "2026-01-01", "2026-01-31", t), ["2026-01-01", "2026-01-31"]);
  assert.equal(periodDates("all", null, null, t), null);
  assert.equal(periodDates("realtime", null, null, t), null);
});

test("query date ranges", () => {
  assert.equal(queryDateRange("30d", null, null), "30d");
  assert.equal(queryDateRange("all", null, null), "all");
  assert.equal(queryDateRange("yesterday", null, null), "yesterday");
  assert.deepEqual(queryDateRange("custom", "2026-01-01", "2026-01-31"), ["2026-01-01", "2026-01-31"]);
  const now = new Date("2026-10-08T12:34:56.789Z");
  assert.deepEqual(queryDateRange("realtime", null, null, now), ["2026-10-08T12:04:56Z", "2026-10-08T12:34:56Z"]);
  assert.deepEqual(realtimeRange(now), ["2026-10-08T12:04:56Z", "2026-10-08T12:34:56Z"]);
});

test("labels", () => {
  assert.equal(periodLabel("30d", null, null), "Last 30 days");
  assert.equal(periodLabel("day", null, null), "Today");
  assert.equal(periodLabel("month", null, null), "Month to date");
  assert.equal(periodLabel("all", null, null), "All time");
  assert.equal(periodLabel("realtime", null, null), "Realtime");
  assert.equal(periodLabel("custom", "2026-10-01", "2026-10-31"), "October 2026");
  assert.equal(formatRange("2026-10-01", "2026-10-15"), "1–15 Oct 2026");
  assert.equal(formatRange("2026-09-28", "2026-10-05"), "28 Sep – 5 Oct 2026");
  assert.equal(formatRange("2025-12-28", "2026-01-03"), "28 Dec 2025 – 3 Jan 2026");
  assert.equal(formatRange("2026-10-05", "2026-10-05"), "5 Oct 2026");
  assert.equal(formatMetaRange(["2026-01-12T00:00:00", "2026-02-09T00:00:00"]), "12 Jan – 8 Feb 2026");
  assert.equal(formatMetaRange(undefined), null);
  assert.equal(compareLabel("previous_period"), "vs previous period");
  assert.equal(compareLabel(null), "vs previous period");
  assert.equal(compareLabel("year_over_year"), "vs same period last year");
  assert.equal(compareLabel("custom"), "vs the chosen days");
  assert.equal(compareLabel("custom", ["2025-12-01T00:00:00", "2025-12-25T00:00:00"]), "vs 1–24 Dec 2025");
  assert.equal(compareLabel("year_over_year", ["2025-10-01T00:00:00", "2025-11-01T00:00:00"]), "vs October 2025");
});

test("moving the period by its own length", () => {
  const t = "2026-10-08";
  assert.deepEqual(shiftPeriod("30d", null, null, -1, t), { from: "2026-08-10", to: "2026-09-08" });
  assert.deepEqual(shiftPeriod("7d", null, null, -1, "2026-10-07"), { from: "2026-09-24", to: "2026-09-30" });
  assert.deepEqual(shiftPeriod("day", null, null, -1, t), { from: "2026-10-07", to: "2026-10-07" });
  assert.equal(shiftPeriod("day", null, null, 1, t), null, "no moving into the future");
  assert.equal(shiftPeriod("30d", null, null, 1, t), null);
  assert.deepEqual(shiftPeriod("month", null, null, -1, t), { from: "2026-09-01", to: "2026-09-30" });
  assert.deepEqual(shiftPeriod("last_month", null, null, -1, t), { from: "2026-08-01", to: "2026-08-31" });
  assert.deepEqual(shiftPeriod("last_month", null, null, 1, t), { from: "2026-10-01", to: t }, "cut at today");
  assert.deepEqual(shiftPeriod("custom", "2026-02-01", "2026-02-28", -1, t), { from: "2026-01-01", to: "2026-01-31" });
  assert.deepEqual(shiftPeriod("custom", "2026-10-01", "2026-10-05", 1, t), { from: "2026-10-06", to: t });
  assert.deepEqual(shiftPeriod("6mo", null, null, -1, t), { from: "2025-11-01", to: "2026-04-30" });
  assert.equal(shiftPeriod("all", null, null, -1, t), null);
  assert.equal(shiftPeriod("realtime", null, null, -1, t), null);
});

test("intervals per period", () => {
  assert.equal(defaultInterval("day", null, null), "hour");
  assert.equal(defaultInterval("yesterday", null, null), "hour");
  assert.equal(defaultInterval("30d", null, null), "day");
  assert.equal(defaultInterval("6mo", null, null), "week");
  assert.equal(defaultInterval("12mo", null, null), "month");
  assert.equal(defaultInterval("realtime", null, null), "minute");
  assert.equal(defaultInterval("custom", "2026-01-01", "2026-01-02"), "hour");
  assert.equal(defaultInterval("custom", "2026-01-01", "2026-03-31"), "day");
  assert.equal(defaultInterval("custom", "2025-01-01", "2026-03-31"), "month");
  assert.deepEqual(allowedIntervals("day", null, null), ["hour"]);
  assert.deepEqual(allowedIntervals("30d", null, null), ["day", "week"]);
  assert.deepEqual(allowedIntervals("custom", "2026-01-01", "2026-01-03"), ["hour", "day"]);
  for (const p of ["realtime", "day", "yesterday", "7d", "30d", "month", "last_month", "6mo", "12mo", "all"]) {
    assert.ok(allowedIntervals(p, null, null).includes(defaultInterval(p, null, null)), p);
  }
});

test("time bucket labels", () => {
  assert.equal(bucketLabel("2026-01-05 13:00", "hour"), "13:00");
  assert.equal(bucketLabel("2026-01-05 13:00", "hour", true), "Mon 5 Jan, 13:00");
  assert.equal(bucketLabel("2026-01-05 13:07", "minute"), "13:07");
  assert.equal(bucketLabel("2026-01-05", "day"), "5 Jan");
  assert.equal(bucketLabel("2026-01-05", "day", true), "Mon 5 Jan 2026");
  assert.equal(bucketLabel("2026-01-05", "week", true), "Week of 5 Jan 2026");
  assert.equal(bucketLabel("2026-01", "month"), "Jan 26");
  assert.equal(bucketLabel("2026-01", "month", true), "January 2026");
});

test("a click on the graph's bucket opens its day, week or month within the period", () => {
  const today = "2026-11-30";
  // A day: that day alone; today is the "Today" period.
  assert.deepEqual(zoomPeriod("2026-11-12", "day", "30d", null, null, today), { period: "custom", from: "2026-11-12", to: "2026-11-12" });
  assert.deepEqual(zoomPeriod("2026-11-30", "day", "30d", null, null, today), { period: "day", from: null, to: null });
  // A week that starts before the 30 days (from 1 Nov) is cut to them; one running past today too.
  assert.deepEqual(zoomPeriod("2026-10-26", "week", "30d", null, null, today), { period: "custom", from: "2026-11-01", to: "2026-11-01" });
  assert.deepEqual(zoomPeriod("2026-11-02", "week", "30d", null, null, today), { period: "custom", from: "2026-11-02", to: "2026-11-08" });
  assert.deepEqual(zoomPeriod("2026-11-30", "week", "30d", null, null, today), { period: "day", from: null, to: null });
  // A month: its days, cut to a custom range and to today.
  assert.deepEqual(zoomPeriod("2026-02", "month", "12mo", null, null, today), { period: "custom", from: "2026-02-01", to: "2026-02-28" });
  assert.deepEqual(zoomPeriod("2026-11", "month", "all", null, null, today), { period: "custom", from: "2026-11-01", to: "2026-11-30" });
  assert.deepEqual(zoomPeriod("2026-03", "month", "custom", "2026-03-10", "2026-06-20", today), { period: "custom", from: "2026-03-10", to: "2026-03-31" });
  // Nothing finer than an hour, and nothing for a label that is not a date.
  assert.equal(zoomPeriod("2026-11-12 13:00", "hour", "7d", null, null, today), null);
  assert.equal(zoomPeriod("2026-11-12 13:05", "minute", "realtime", null, null, today), null);
  assert.equal(zoomPeriod("", "day", "30d", null, null, today), null);
});
