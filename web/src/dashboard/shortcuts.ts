// Keyboard shortcuts in Plausible's manner. `keyAction` is the pure key → action mapping
// (unit-tested in shortcuts.test.ts); the dashboard performs the action.
import type { Period } from "../lib/url-state";

export type Action =
  | { kind: "period"; period: Period }
  | { kind: "compare" }
  | { kind: "move"; dir: 1 | -1 }
  | { kind: "escape" }
  | { kind: "help" };

export interface KeyInput {
  key: string;
  ctrlKey?: boolean;
  metaKey?: boolean;
  altKey?: boolean;
  /** The focused element (the event's target). */
  target?: { tagName?: string; isContentEditable?: boolean } | null;
}

const PERIOD_KEYS: Record<string, Period> = {
  d: "day",
  e: "yesterday",
  w: "7d",
  t: "30d",
  m: "month",
  l: "last_month",
  y: "12mo",
  a: "all",
  r: "realtime",
};

/** The shortcuts, for the "?" dialog. */
export const SHORTCUTS: [string, string][] = [
  ["D", "Today"],
  ["E", "Yesterday"],
  ["W", "Last 7 days"],
  ["T", "Last 30 days"],
  ["M", "Month to date"],
  ["L", "Last month"],
  ["Y", "Last 12 months"],
  ["A", "All time"],
  ["R", "Realtime"],
  ["C", "Compare with the previous period (on / off)"],
  ["←", "Move the period back"],
  ["→", "Move the period forward"],
  ["Esc", "Close a dialog or menu, else remove the last filter"],
  ["?", "Show these shortcuts"],
];

function typing(t: KeyInput["target"]): boolean {
  if (!t) return false;
  if (t.isContentEditable) return true;
  const tag = (t.tagName ?? "").toUpperCase();
  return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT";
}

export function keyAction(e: KeyInput): Action | null {
  if (e.ctrlKey || e.metaKey || e.altKey) return null;
  if (e.key === "Escape") return { kind: "escape" };
  if (typing(e.target)) return null;
  if (e.key === "?") return { kind: "help" };
  if (e.key === "ArrowLeft") return { kind: "move", dir: -1 };
  if (e.key === "ArrowRight") return { kind: "move", dir: 1 };
  if (e.key === "c") return { kind: "compare" };
  const period = PERIOD_KEYS[e.key];
  return period ? { kind: "period", period } : null;
}
