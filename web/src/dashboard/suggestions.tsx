// Suggestions for the fields where an owner types a page or an event name (goals, funnel steps,
// a journey's start): the site's top pages and custom events over the last 30 days, from the
// query API (two queries that read the rollups, cached like every dashboard query).
import type { Project } from "../api/types";
import { BUILTIN_EVENTS } from "./defs";
import { useQuery } from "./use-query";

const OWNER = { kind: "owner" } as const;
/** How many of each the lists offer. */
const SUGGESTIONS = 50;

export interface Suggestions {
  pages: string[];
  events: string[];
}

export function useSuggestions(project: Project): Suggestions {
  const base = { project_id: project.id, timezone: project.timezone, date_range: "30d", metrics: ["visitors" as const] };
  const pages = useQuery(OWNER, { ...base, dimensions: ["page"], limit: SUGGESTIONS });
  const events = useQuery(OWNER, { ...base, dimensions: ["event_name"], limit: SUGGESTIONS + BUILTIN_EVENTS.length });
  const values = (r: typeof pages) => (r.data?.results ?? []).map((row) => String(row.dimensions[0] ?? "")).filter(Boolean);
  return { pages: values(pages), events: values(events).filter((e) => !BUILTIN_EVENTS.includes(e)).slice(0, SUGGESTIONS) };
}

/** A <datalist> of suggestions, for an input's `list` attribute. */
export function SuggestionList({ id, values }: { id: string; values: string[] }) {
  return (
    <datalist id={id}>
      {values.map((v) => (
        <option key={v} value={v} />
      ))}
    </datalist>
  );
}
