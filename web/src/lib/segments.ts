// Saved segments: a site's named filter sets. Applying one puts its filters in the URL, so a
// segment's view is an ordinary dashboard link; these helpers are the pure part (unit-tested in
// segments.test.ts).
import type { Filter, FilterOp } from "../api/types";
import { FILTER_OPS } from "./url-state";

/** A segment's filters as the API gives them (`[operator, dimension, [values]]`). */
export type RawFilter = [string, string, string[]];

/** The filters the dashboard can apply (an operator it does not know is left out). */
export function segmentFilters(raw: RawFilter[]): Filter[] {
  return raw.filter((f) => (FILTER_OPS as readonly string[]).includes(f[0])).map((f) => [f[0] as FilterOp, f[1], [...f[2]]]);
}

function key(f: Filter): string {
  return JSON.stringify([f[0], f[1], [...f[2]].sort()]);
}

/** The same filters, whatever their order (and the order of their values). */
export function sameFilters(a: Filter[], b: Filter[]): boolean {
  if (a.length !== b.length) return false;
  const ka = a.map(key).sort();
  const kb = b.map(key).sort();
  return ka.every((k, i) => k === kb[i]);
}

/** Names compare as the server does: trimmed, case-insensitive. */
export function sameName(a: string, b: string): boolean {
  return a.trim().toLowerCase() === b.trim().toLowerCase();
}
