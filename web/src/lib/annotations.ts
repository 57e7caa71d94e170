// Which of a site's notes (annotations) fall in which bucket of the main graph, and which lie in
// the period shown. Dates are the site's local dates as strings, like everywhere in lib/dates.
// Pure, unit-tested (annotations.test.ts).
import { addDays, type Interval } from "./dates";

export interface Note {
  id: string;
  date: string;
  text: string;
}

/** A bucket of the graph with the notes on it, in the list's order (by date, then written). */
export interface Mark<N extends Note = Note> {
  index: number;
  notes: N[];
}

/** The dates a bucket label ("2026-11-03", "2026-11-03 13:00", "2026-11") stands for, inclusive. */
function bucketDates(label: string, interval: Interval): [string, string] | null {
  if (interval === "month") {
    const first = label.slice(0, 7) + "-01";
    return /^\d{4}-\d{2}-01$/.test(first) ? [first, label.slice(0, 7) + "-31"] : null;
  }
  const date = label.slice(0, 10);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) return null;
  return interval === "week" ? [date, addDays(date, 6)] : [date, date];
}

/**
 * The graph's buckets that have notes. A note marks the bucket its date falls in; by hours (or
 * minutes) it marks the first bucket of its day, as a note is on a day, not a time. A note on a
 * date no bucket covers is not marked.
 */
export function noteMarks<N extends Note>(notes: readonly N[], labels: readonly string[], interval: Interval): Mark<N>[] {
  const marks: Mark<N>[] = [];
  const taken = new Set<string>();
  for (let index = 0; index < labels.length; index++) {
    const span = bucketDates(labels[index] ?? "", interval);
    if (!span) continue;
    const on = notes.filter((n) => !taken.has(n.id) && n.date >= span[0] && n.date <= span[1]);
    if (!on.length) continue;
    for (const n of on) taken.add(n.id);
    marks.push({ index, notes: on });
  }
  return marks;
}

/** The notes between `from` and `to` (inclusive; null: no bound on that side). */
export function notesWithin<N extends Note>(notes: readonly N[], from: string | null, to: string | null): N[] {
  return notes.filter((n) => (from === null || n.date >= from) && (to === null || n.date <= to));
}
