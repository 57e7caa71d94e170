// The dashboard's panels: sources, pages, locations, devices, events (with goals and custom
// properties) and the weekday × hour heatmap. Each runs its own query as soon as it renders
// and shows its own skeleton and error.
import { useState } from "preact/hooks";
import type { QueryRequest } from "../api/types";
import { metricValue, fullNumber } from "../lib/format";
import { TABS, type PanelName } from "../lib/url-state";
import { WEEKDAYS } from "../lib/dates";
import { pad2 } from "../lib/format";
import { queryBody, setState, useDash, type DashCtx } from "./ctx";
import { listDef, PANEL_TITLE, shownRows, TAB_LABEL } from "./defs";
import { Panel, PanelError, QueryRows, Skeleton, Tab, type ListDef } from "./panel";
import { useQuery } from "./use-query";
import { WorldMap } from "./world-map";
import { linkClick } from "../lib/router";

export function listBody(ctx: DashCtx, def: ListDef, limit: number, detail = false): QueryRequest {
  return queryBody(
    ctx,
    { metrics: detail ? def.detailMetrics : def.metrics, dimensions: [def.dimension], limit: limit + (def.hide?.length ?? 0) },
    def.filters ?? [],
  );
}

function TabsOf({ panel, only }: { panel: PanelName; only?: readonly string[] }) {
  const ctx = useDash();
  const current = ctx.state.tabs[panel];
  return (
    <>
      {(only ?? TABS[panel]).map((t) => (
        <Tab key={t} current={current === t} onClick={() => setState(ctx.state, { tabs: { ...ctx.state.tabs, [panel]: t } })}>
          {TAB_LABEL[t] ?? t}
        </Tab>
      ))}
    </>
  );
}

function openDetails(ctx: DashCtx, panel: PanelName) {
  setState(ctx.state, { details: panel });
}

/** A panel whose body is one list of rows. */
function ListPanel({ panel, tabs }: { panel: PanelName; tabs: preact.ComponentChildren }) {
  const ctx = useDash();
  const def = listDef(panel, ctx.state)!;
  const q = useQuery(ctx.scope, listBody(ctx, def, 9));
  return (
    <Panel name={panel} title={PANEL_TITLE[panel]} tabs={tabs} onDetails={() => openDetails(ctx, panel)}>
      <QueryRows def={def} q={q} />
    </Panel>
  );
}

export function SourcesPanel() {
  const ctx = useDash();
  const t = ctx.state.tabs.sources;
  const utm = t.startsWith("utm_");
  const tabs = (
    <>
      <TabsOf panel="sources" only={["source", "referrer"]} />
      <label class="visually-hidden" for="utm-tab">
        UTM parameter
      </label>
      <select
        id="utm-tab"
        class={"tab-select" + (utm ? " current" : "")}
        value={utm ? t : ""}
        onChange={(e) => {
          const v = (e.currentTarget as HTMLSelectElement).value;
          if (v) setState(ctx.state, { tabs: { ...ctx.state.tabs, sources: v as typeof t } });
        }}
      >
        <option value="">UTM…</option>
        {TABS.sources
          .filter((x) => x.startsWith("utm_"))
          .map((x) => (
            <option key={x} value={x}>
              {TAB_LABEL[x]}
            </option>
          ))}
      </select>
    </>
  );
  return <ListPanel panel="sources" tabs={tabs} />;
}

export function PagesPanel() {
  return <ListPanel panel="pages" tabs={<TabsOf panel="pages" />} />;
}

export function DevicesPanel() {
  return <ListPanel panel="devices" tabs={<TabsOf panel="devices" />} />;
}

export function LocationsPanel() {
  const ctx = useDash();
  const def = listDef("locations", ctx.state)!;
  const isMap = ctx.state.tabs.locations === "map";
  // The map colours every country: ask for all of them (there are fewer than 250).
  const q = useQuery(ctx.scope, listBody(ctx, def, isMap ? 300 : 9));
  return (
    <Panel name="locations" title={PANEL_TITLE.locations} tabs={<TabsOf panel="locations" />} onDetails={() => openDetails(ctx, "locations")}>
      {isMap ? (
        !q.shown && q.error ? (
          <PanelError error={q.error} onRetry={q.retry} />
        ) : (
          <WorldMap data={q.shown} loading={q.loading} />
        )
      ) : (
        <QueryRows def={def} q={q} />
      )}
    </Panel>
  );
}

export function EventsPanel() {
  const ctx = useDash();
  const { state } = ctx;
  const def = listDef("events", state);
  const goalsDef = listDef("events", { ...state, tabs: { ...state.tabs, events: "goals" } })!;
  const onGoals = state.tabs.events === "goals";
  // One query for the list and the goal picker's names (the top 100 custom events).
  const names = useQuery(ctx.scope, listBody(ctx, goalsDef, 100));
  const props = useQuery(ctx.scope, !onGoals && def ? listBody(ctx, def, 9) : null);
  const q = onGoals ? names : props;
  const goal = state.goal;
  const conv = useQuery(ctx.scope, goal ? queryBody(ctx, { metrics: ["visitors", "conversion_rate"], goal }) : null);
  const goalNames = shownRows(goalsDef, names.shown?.results ?? []).map((r) => String(r.dimensions[0] ?? "")).filter(Boolean);
  if (goal && !goalNames.includes(goal)) goalNames.unshift(goal);
  const [key, setKey] = useState(state.prop ?? "");

  const footer = (
    <div class="goal-picker">
      <label for="goal-select">Goal</label>
      <select
        id="goal-select"
        value={goal ?? ""}
        onChange={(e) => setState(state, { goal: (e.currentTarget as HTMLSelectElement).value || null })}
      >
        <option value="">None</option>
        {goalNames.map((n) => (
          <option key={n} value={n}>
            {n}
          </option>
        ))}
      </select>
      {goal && (
        <span class="goal-cr" data-testid="goal-conversion-rate" data-value={conv.data?.totals.metrics[1] ?? ""}>
          {conv.data ? (
            <>
              <strong>{metricValue("conversion_rate", conv.data.totals.metrics[1] ?? null)}</strong> conversion rate
            </>
          ) : conv.error ? (
            <button type="button" class="link" onClick={conv.retry}>
              Retry
            </button>
          ) : (
            "…"
          )}
        </span>
      )}
    </div>
  );

  return (
    <Panel name="events" title={PANEL_TITLE.events} tabs={<TabsOf panel="events" />} onDetails={def ? () => openDetails(ctx, "events") : undefined} footer={footer}>
      {state.tabs.events === "props" && (
        <form
          class="prop-form"
          onSubmit={(e) => {
            e.preventDefault();
            const k = key.trim();
            setState(state, { prop: k || null });
          }}
        >
          <label for="prop-key" class="visually-hidden">
            Property key
          </label>
          <input id="prop-key" placeholder="Property key, e.g. plan" value={key} onInput={(e) => setKey((e.currentTarget as HTMLInputElement).value)} />
          <button type="submit">Show</button>
        </form>
      )}
      {def ? <QueryRows def={def} q={q} limit={state.tabs.events === "props" ? 8 : 9} /> : <p class="rows-empty hint">Type a custom property's key to break it down.</p>}
    </Panel>
  );
}

/** Most goals a site has (the goals API's `MAX_GOALS_PER_PROJECT`): the panel lists them all. */
const MAX_GOALS = 100;

const GOALS_DEF: ListDef = {
  dimension: "goal",
  column: "Goal",
  metrics: ["visitors", "events", "conversion_rate"],
  detailMetrics: ["visitors", "events", "conversion_rate"],
};

/**
 * The site's goals (custom events and page patterns, set in the site's settings) with the
 * visitors who completed each, the completions, and the conversion rate, all from one query
 * grouped by `goal`. A row filters the dashboard by that goal.
 */
export function GoalsPanel() {
  const ctx = useDash();
  const q = useQuery(ctx.scope, queryBody(ctx, { metrics: GOALS_DEF.metrics, dimensions: ["goal"], limit: MAX_GOALS }));
  const settings = `/sites/${encodeURIComponent(ctx.project.id)}/settings#goals`;
  const none = q.shown && q.shown.results.length === 0 && !ctx.state.filters.some((f) => f[1] === "goal");
  const footer = ctx.shared ? undefined : (
    <a href={settings} onClick={linkClick} class="goals-manage">
      Manage goals
    </a>
  );
  return (
    <Panel name="goals" title="Goals" footer={footer}>
      {none ? (
        <div class="rows-empty hint goals-empty">
          <p>No goals yet.</p>
          {!ctx.shared && (
            <p>
              <a href={settings} onClick={linkClick}>
                Add a goal
              </a>{" "}
              (a custom event, or a page such as <code>/docs/*</code>) to see its conversion rate here.
            </p>
          )}
        </div>
      ) : (
        <QueryRows def={GOALS_DEF} q={q} limit={MAX_GOALS} />
      )}
    </Panel>
  );
}

export function HeatmapPanel() {
  const ctx = useDash();
  const q = useQuery(ctx.scope, queryBody(ctx, { metrics: ["visitors"], dimensions: ["heatmap"], limit: 168 }));
  const data = q.shown;
  let body;
  if (!data && q.error) body = <PanelError error={q.error} onRetry={q.retry} />;
  else if (!data) body = <Skeleton />;
  else {
    const grid: number[][] = Array.from({ length: 7 }, () => Array(24).fill(0));
    const wi = data.columns.indexOf("weekday");
    const hi = data.columns.indexOf("hour");
    for (const r of data.results) {
      const w = Number(r.dimensions[wi]) - 1;
      const h = Number(r.dimensions[hi]);
      const v = r.metrics[0];
      if (grid[w] && h >= 0 && h < 24 && typeof v === "number") grid[w]![h] = v;
    }
    const max = Math.max(0, ...grid.flat());
    body = (
      <div class={"heatmap" + (q.loading ? " reloading" : "")} aria-busy={q.loading}>
        <div class="heatmap-grid" role="group" aria-label="Visitors by weekday and hour">
          <span aria-hidden="true" />
          {Array.from({ length: 24 }, (_, h) => (
            <span class="heatmap-hour" aria-hidden="true" key={"h" + h}>
              {h % 6 === 0 ? pad2(h) : ""}
            </span>
          ))}
          {grid.map((row, w) => [
            <span class="heatmap-day" aria-hidden="true" key={"d" + w}>
              {WEEKDAYS[w]}
            </span>,
            ...row.map((v, h) => {
              const text = `${WEEKDAYS[w]} ${pad2(h)}:00: ${fullNumber(v)} visitor${v === 1 ? "" : "s"}`;
              return (
                <span
                  key={w * 24 + h}
                  role="img"
                  class="heatmap-cell"
                  title={text}
                  aria-label={text}
                  data-testid="heatmap-cell"
                  data-weekday={w + 1}
                  data-hour={h}
                  data-value={v}
                >
                  <span class="heatmap-fill" style={{ opacity: max > 0 ? (v / max) * 0.92 + (v > 0 ? 0.08 : 0) : 0 }} />
                </span>
              );
            }),
          ])}
        </div>
        <p class="hint heatmap-note">Local time of the site ({ctx.project.timezone}).</p>
      </div>
    );
  }
  return (
    <Panel name="heatmap" title="When visitors come">
      {body}
    </Panel>
  );
}
