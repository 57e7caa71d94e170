// Periods, ranges and their labels. Dates are local dates of the site's time zone as strings
// ("2026-10-31"); "today" is computed in that zone with Intl, never in the browser's. Calendar
// arithmetic runs on UTC dates, which have no DST. Pure, unit-tested (dates.test.ts).
import type { DateRange } from "../api/types";
import { pad2 } from "./format";

/** Periods are declared in url-state.ts; repeated as a plain string here to keep this module standalone. */
type Period = string;
export type Interval = "minute" | "hour" | "day" | "week" | "month";
export type CompareMode = "previous_period" | "year_over_year" | "custom";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const MONTHS_LONG = [
  "January", "February", "March", "April", "May", "June",
  "July", "August", "September", "October", "November", "December",
];
export const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

export function isDate(s: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) return false;
  const d = parse(s);
  return toDate(d) === s && s >= "2000-01-01" && s < "2100-01-01";
}

function parse(s: string): Date {
  return new Date(Date.UTC(Number(s.slice(0, 4)), Number(s.slice(5, 7)) - 1, Number(s.slice(8, 10))));
}
function toDate(d: Date): string {
  return `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}`;
}

// One formatter per time zone: making an Intl.DateTimeFormat costs about a millisecond, and the
// dashboard asks for today on every render (it was the first render's costliest function).
const dayFormats = new Map<string, Intl.DateTimeFormat | null>();
function dayFormat(timeZone: string): Intl.DateTimeFormat | null {
  let f = dayFormats.get(timeZone);
  if (f === undefined) {
    try {
      f = new Intl.DateTimeFormat("en-US", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" });
    } catch {
      f = null; // an unknown zone
    }
    dayFormats.set(timeZone, f);
  }
  return f;
}

/** The local date in `timeZone` at `now` (default: the current instant). */
export function todayIn(timeZone: string, now: Date = new Date()): string {
  const format = dayFormat(timeZone);
  // An unknown zone: UTC, as the API would refuse it anyway.
  if (!format) return now.toISOString().slice(0, 10);
  const parts = format.formatToParts(now);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? "";
  return `${get("year")}-${get("month")}-${get("day")}`;
}

export function addDays(date: string, n: number): string {
  const d = parse(date);
  d.setUTCDate(d.getUTCDate() + n);
  return toDate(d);
}

/** The first day of the month `n` months after `date`'s. */
export function addMonths(date: string, n: number): string {
  const d = parse(date.slice(0, 8) + "01");
  d.setUTCMonth(d.getUTCMonth() + n);
  return toDate(d);
}

export function lastOfMonth(date: string): string {
  return addDays(addMonths(date, 1), -1);
}

/** Days from a to b (b - a). */
export function daysBetween(a: string, b: string): number {
  return Math.round((parse(b).getTime() - parse(a).getTime()) / 86_400_000);
}

/** The local dates a period covers, both included; null for "all" (unknown start) and "realtime". */
export function periodDates(period: Period, from: string | null, to: string | null, today: string): [string, string] | null {
  switch (period) {
    case "day":
      return [today, today];
    case "yesterday":
      return [addDays(today, -1), addDays(today, -1)];
    case "7d":
      return [addDays(today, -6), today];
    case "30d":
      return [addDays(today, -29), today];
    case "month":
      return [today.slice(0, 8) + "01", today];
    case "last_month":
      return [addMonths(today, -1), addDays(today.slice(0, 8) + "01", -1)];
    case "6mo":
      return [addMonths(today, -5), today];
    case "12mo":
      return [addMonths(today, -11), today];
    case "custom":
      return from && to ? [from, to] : null;
    default:
      return null;
  }
}

/** Two RFC 3339 instants, [now - 30 min, now): the realtime window. */
export function realtimeRange(now: Date): [string, string] {
  const end = Math.floor(now.getTime() / 1000) * 1000;
  const iso = (t: number) => new Date(t).toISOString().replace(/\.\d{3}Z$/, "Z");
  return [iso(end - 30 * 60_000), iso(end)];
}

/** The `date_range` of a query for the period. */
export function queryDateRange(period: Period, from: string | null, to: string | null, now: Date = new Date()): DateRange {
  if (period === "custom" && from && to) return [from, to];
  if (period === "realtime") return realtimeRange(now);
  return period === "custom" ? "30d" : period;
}

const PERIOD_LABEL: Record<string, string> = {
  realtime: "Realtime",
  day: "Today",
  yesterday: "Yesterday",
  "7d": "Last 7 days",
  "30d": "Last 30 days",
  month: "Month to date",
  last_month: "Last month",
  "6mo": "Last 6 months",
  "12mo": "Last 12 months",
  all: "All time",
};

/** "Last 30 days", "Today", "1–31 Oct 2026", "28 Sep – 5 Oct 2026", "5 Oct 2026". */
export function periodLabel(period: Period, from: string | null, to: string | null): string {
  if (period === "custom" && from && to) return formatRange(from, to);
  return PERIOD_LABEL[period] ?? "Last 30 days";
}

function day(d: string): number {
  return Number(d.slice(8, 10));
}
function mon(d: string): string {
  return MONTHS[Number(d.slice(5, 7)) - 1] ?? "";
}

/** A range of local dates, both included, as people write it. */
export function formatRange(from: string, to: string): string {
  const y1 = from.slice(0, 4);
  const y2 = to.slice(0, 4);
  if (from === to) return `${day(from)} ${mon(from)} ${y1}`;
  if (from.slice(0, 7) === to.slice(0, 7)) {
    if (day(from) === 1 && to === lastOfMonth(from)) return `${MONTHS_LONG[Number(from.slice(5, 7)) - 1]} ${y1}`;
    return `${day(from)}–${day(to)} ${mon(from)} ${y1}`;
  }
  if (y1 === y2) return `${day(from)} ${mon(from)} – ${day(to)} ${mon(to)} ${y1}`;
  return `${day(from)} ${mon(from)} ${y1} – ${day(to)} ${mon(to)} ${y2}`;
}

/** `meta.date_range`-style wall times (end excluded) as a label: ["…-01T00:00:00", "…-09T00:00:00"]. */
export function formatMetaRange(range: [string, string] | undefined): string | null {
  if (!range) return null;
  const [a, b] = range;
  if (!isDate(a.slice(0, 10)) || !isDate(b.slice(0, 10))) return null;
  const endDay = b.slice(11) === "00:00:00" || b.length === 10 ? addDays(b.slice(0, 10), -1) : b.slice(0, 10);
  return formatRange(a.slice(0, 10), endDay < a.slice(0, 10) ? a.slice(0, 10) : endDay);
}

/** "vs previous period" / "vs last year", or with the dates when the answer gave them. */
export function compareLabel(compare: CompareMode | null, comparisonRange?: [string, string]): string {
  const dates = formatMetaRange(comparisonRange);
  if (dates) return "vs " + dates;
  if (compare === "custom") return "vs the chosen days";
  return compare === "year_over_year" ? "vs same period last year" : "vs previous period";
}

/**
 * The period moved back (-1) or forward (+1) by its own length, as a custom range; whole
 * calendar months (month to date, last month, 6 and 12 months) move by months. Null when the
 * period cannot move (all time, realtime) or would start after today; an end after today is
 * cut to today.
 */
export function shiftPeriod(
  period: Period, from: string | null, to: string | null, dir: 1 | -1, today: string,
): { from: string; to: string } | null {
  const r = periodDates(period, from, to, today);
  if (!r) return null;
  const [a, b] = r;
  let na: string, nb: string;
  const monthly =
    ["month", "last_month", "6mo", "12mo"].includes(period) || (a.endsWith("-01") && b === lastOfMonth(b) && a !== b);
  if (monthly) {
    const months = (Number(b.slice(0, 4)) - Number(a.slice(0, 4))) * 12 + Number(b.slice(5, 7)) - Number(a.slice(5, 7)) + 1;
    na = addMonths(a, dir * months);
    nb = lastOfMonth(addMonths(na, months - 1));
  } else {
    const n = daysBetween(a, b) + 1;
    na = addDays(a, dir * n);
    nb = addDays(b, dir * n);
  }
  if (na > today) return null;
  if (nb > today) nb = today;
  if (na < "2000-01-01") return null;
  return { from: na, to: nb };
}

/** The intervals the main graph offers for a period, the sensible ones only. */
export function allowedIntervals(period: Period, from: string | null, to: string | null): Interval[] {
  switch (period) {
    case "realtime":
      return ["minute"];
    case "day":
    case "yesterday":
      return ["hour"];
    case "7d":
      return ["hour", "day"];
    case "30d":
    case "month":
    case "last_month":
      return ["day", "week"];
    case "6mo":
    case "12mo":
    case "all":
      return ["day", "week", "month"];
    case "custom": {
      const n = from && to ? daysBetween(from, to) + 1 : 30;
      if (n <= 1) return ["hour"];
      if (n <= 7) return ["hour", "day"];
      if (n <= 45) return ["day", "week"];
      return ["day", "week", "month"];
    }
    default:
      return ["day", "week"];
  }
}

/** The interval a period starts with: hours for a day, days up to ~3 months, then weeks, months. */
export function defaultInterval(period: Period, from: string | null, to: string | null): Interval {
  switch (period) {
    case "realtime":
      return "minute";
    case "day":
    case "yesterday":
      return "hour";
    case "6mo":
      return "week";
    case "12mo":
    case "all":
      return "month";
    case "custom": {
      const n = from && to ? daysBetween(from, to) + 1 : 30;
      if (n <= 2) return "hour";
      if (n <= 92) return "day";
      if (n <= 200) return "week";
      return "month";
    }
    default:
      return "day";
  }
}

/** Weekday (0 = Monday) of a local date. */
export function weekday(date: string): number {
  return (parse(date).getUTCDay() + 6) % 7;
}

/**
 * A time bucket's label from the API ("2026-01-05 13:00", "2026-01-05", "2026-01") for an axis
 * (`long` false: "13:00", "5 Jan", "Jan 26") or a tooltip (`long`: "Mon 5 Jan, 13:00",
 * "Mon 5 Jan 2026", "Week of 5 Jan 2026", "January 2026").
 */
export function bucketLabel(label: string, interval: Interval, long = false): string {
  if (interval === "month") {
    const m = Number(label.slice(5, 7)) - 1;
    return long ? `${MONTHS_LONG[m] ?? ""} ${label.slice(0, 4)}` : `${MONTHS[m] ?? ""} ${label.slice(2, 4)}`;
  }
  const date = label.slice(0, 10);
  if (!isDate(date)) return label;
  const dm = `${day(date)} ${mon(date)}`;
  if (interval === "minute" || interval === "hour") {
    const time = label.slice(11, 16);
    return long ? `${WEEKDAYS[weekday(date)]} ${dm}, ${time}` : time;
  }
  if (!long) return dm;
  return interval === "week" ? `Week of ${dm} ${date.slice(0, 4)}` : `${WEEKDAYS[weekday(date)]} ${dm} ${date.slice(0, 4)}`;
}

/**
 * The period a click on the main graph's bucket opens: a day's bucket gives that day (by hours),
 * a week's its days, a month's its days, each cut to the period shown and to today (a week can
 * start before a 30-day period does). Today alone is the "Today" period. Null for hours and
 * minutes (nothing finer to open) and for a label that is not a date.
 */
export function zoomPeriod(
  label: string, interval: Interval, period: Period, from: string | null, to: string | null, today: string,
): { period: "day" | "custom"; from: string | null; to: string | null } | null {
  let a: string, b: string;
  if (interval === "day" || interval === "week") {
    a = label.slice(0, 10);
    if (!isDate(a)) return null;
    b = interval === "day" ? a : addDays(a, 6);
  } else if (interval === "month") {
    a = label.slice(0, 7) + "-01";
    if (!isDate(a)) return null;
    b = lastOfMonth(a);
  } else {
    return null;
  }
  const shown = periodDates(period, from, to, today);
  if (shown) {
    if (a < shown[0]) a = shown[0];
    if (b > shown[1]) b = shown[1];
  }
  if (b > today) b = today;
  if (a > b) return null;
  if (a === today && b === today) return { period: "day", from: null, to: null };
  return { period: "custom", from: a, to: b };
}
