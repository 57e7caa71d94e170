// How times read on screen: "3 minutes ago" (with the full local time in a title), and dates.
// Pure (the clock is a parameter), unit-tested; RelativeTime renders them.

const MINUTE = 60;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

function plural(n: number, unit: string): string {
  return `${n} ${unit}${n === 1 ? "" : "s"}`;
}

/**
 * `then` relative to `now`, in words: "just now", "3 minutes ago", "2 hours ago", "5 days ago",
 * "4 months ago", "2 years ago"; a time ahead of `now` (clock skew) reads "in 3 minutes".
 * An unparsable time reads "—".
 */
export function relativeTime(then: Date | string, now: Date = new Date()): string {
  const t = typeof then === "string" ? Date.parse(then) : then.getTime();
  if (!Number.isFinite(t)) return "—";
  const diff = (now.getTime() - t) / 1000;
  const abs = Math.abs(diff);
  if (abs < 45) return "just now";
  let text: string;
  if (abs < 90) text = "1 minute";
  else if (abs < 45 * MINUTE) text = plural(Math.round(abs / MINUTE), "minute");
  else if (abs < 90 * MINUTE) text = "1 hour";
  else if (abs < 22 * HOUR) text = plural(Math.round(abs / HOUR), "hour");
  else if (abs < 36 * HOUR) text = "1 day";
  else if (abs < 26 * DAY) text = plural(Math.round(abs / DAY), "day");
  else if (abs < 45 * DAY) text = "1 month";
  else if (abs < 320 * DAY) text = plural(Math.round(abs / (30.44 * DAY)), "month");
  else text = plural(Math.max(1, Math.round(abs / (365.25 * DAY))), "year");
  return diff >= 0 ? `${text} ago` : `in ${text}`;
}

/** The full local date and time, for a title: "Jan 5, 2026, 1:07 PM" in the browser's locale. */
export function fullTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/** A date alone, in the browser's locale: "Jan 5, 2026". */
export function shortDate(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleDateString(undefined, { dateStyle: "medium" });
}
