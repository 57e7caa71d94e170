import { test } from "node:test";
import assert from "node:assert/strict";
import { noteMarks, notesWithin } from "./annotations";

const note = (id: string, date: string) => ({ id, date, text: "note " + id });

test("a note marks the day, week or month bucket its date falls in", () => {
  const notes = [note("a", "2026-11-02"), note("b", "2026-11-04"), note("c", "2026-11-04"), note("d", "2026-12-25")];
  const days = ["2026-11-02", "2026-11-03", "2026-11-04"];
  assert.deepEqual(noteMarks(notes, days, "day").map((m) => [m.index, m.notes.map((n) => n.id)]), [[0, ["a"]], [2, ["b", "c"]]]);
  const weeks = ["2026-10-26", "2026-11-02", "2026-11-09"];
  assert.deepEqual(noteMarks(notes, weeks, "week").map((m) => [m.index, m.notes.map((n) => n.id)]), [[1, ["a", "b", "c"]]]);
  const months = ["2026-10", "2026-11", "2026-12"];
  assert.deepEqual(noteMarks(notes, months, "month").map((m) => [m.index, m.notes.map((n) => n.id)]), [[1, ["a", "b", "c"]], [2, ["d"]]]);
});

test("by hours, a note marks the first bucket of its day", () => {
  const notes = [note("a", "2026-11-02"), note("b", "2026-11-03")];
  const hours = ["2026-11-02 00:00", "2026-11-02 01:00", "2026-11-03 00:00", "2026-11-03 01:00"];
  assert.deepEqual(noteMarks(notes, hours, "hour").map((m) => [m.index, m.notes.map((n) => n.id)]), [[0, ["a"]], [2, ["b"]]]);
  // A day whose first hours are not on the graph: its first bucket shown.
  assert.deepEqual(noteMarks(notes, hours.slice(1), "hour").map((m) => m.index), [0, 1]);
});

test("notes outside every bucket, or labels that are not dates, mark nothing", () => {
  assert.deepEqual(noteMarks([note("a", "2026-01-01")], ["2026-11-02"], "day"), []);
  assert.deepEqual(noteMarks([note("a", "2026-11-02")], ["", "junk"], "day"), []);
  assert.deepEqual(noteMarks([note("a", "2026-11-02")], ["2026-11-02"], "day").length, 1);
});

test("the notes of a period", () => {
  const notes = [note("a", "2026-10-31"), note("b", "2026-11-01"), note("c", "2026-11-30")];
  assert.deepEqual(notesWithin(notes, "2026-11-01", "2026-11-30").map((n) => n.id), ["b", "c"]);
  assert.deepEqual(notesWithin(notes, null, "2026-11-01").map((n) => n.id), ["a", "b"]);
  assert.deepEqual(notesWithin(notes, null, null).length, 3);
});
