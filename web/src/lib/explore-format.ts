// How the explore views write times and a session's events: in the site's time zone (stable
// English formats, whatever the browser's locale, so tests can read them). Pure, unit-tested.
import type { SessionEvent } from "../api/types";
import { duration } from "./format";

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(tz: string, opts: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = tz + JSON.stringify(opts);
  let f = formatters.get(key);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat("en-GB", { ...opts, timeZone: tz });
    } catch {
      f = new Intl.DateTimeFormat("en-GB", { ...opts, timeZone: "UTC" });
    }
    formatters.set(key, f);
  }
  return f;
}

/** "14:05:09" in `tz`. */
export function clockTime(iso: string, tz: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : formatter(tz, { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" }).format(d);
}

/** "5 Jan 2026, 14:05" in `tz`. */
export function dateTime(iso: string, tz: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const day = formatter(tz, { day: "numeric", month: "short", year: "numeric" }).format(d);
  const time = formatter(tz, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(d);
  return `${day}, ${time}`;
}

/** Time since the session started, as on a stopwatch: "+0:00", "+2:05", "+1:02:03". */
export function sinceStart(iso: string, startIso: string): string {
  const ms = Date.parse(iso) - Date.parse(startIso);
  if (!Number.isFinite(ms)) return "";
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h ? `+${h}:${String(m).padStart(2, "0")}:${ss}` : `+${m}:${ss}`;
}

/** A duration in milliseconds as people say it ("3m 05s"). */
export function durationMs(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? "—" : duration(ms / 1000);
}

export type EventKind = "pageview" | "path_change" | "page_exit" | "custom";

export function eventKind(e: Pick<SessionEvent, "name">): EventKind {
  return e.name === "pageview" || e.name === "path_change" || e.name === "page_exit" ? e.name : "custom";
}

/** What a timeline entry says: "Viewed /pricing", "Left /pricing after 45s, scrolled 80%", "Signup on /signup". */
export function eventText(e: Pick<SessionEvent, "name" | "path" | "duration_ms" | "scroll_depth">): string {
  switch (eventKind(e)) {
    case "pageview":
      return `Viewed ${e.path}`;
    case "path_change":
      return `Went to ${e.path}`;
    case "page_exit": {
      const parts = [e.duration_ms !== null ? `after ${durationMs(e.duration_ms)}` : "", e.scroll_depth !== null ? `scrolled ${e.scroll_depth}%` : ""].filter(Boolean);
      return `Left ${e.path}${parts.length ? " " + parts.join(", ") : ""}`;
    }
    default:
      return `${e.name} on ${e.path}`;
  }
}
