// The details dialog of a panel: all rows (up to 1000) of its current tab with the tab's extra
// metrics, a search box (client-side, over the loaded rows) and sortable columns (sorting the
// loaded rows; the API gives them already ranked by the first metric).
import { useId, useMemo, useState } from "preact/hooks";
import type { Cell, MetricName, Row } from "../api/types";
import { Dialog } from "../components/dialog";
import { metricValue } from "../lib/format";
import type { PanelName } from "../lib/url-state";
import { queryBody, setState, useDash } from "./ctx";
import { listDef, PANEL_TITLE, shownRows, TAB_LABEL } from "./defs";
import { valueLabel } from "./dimensions";
import { listBody } from "./panels";
import { PanelError, RowLabel, shortLabel, Skeleton, useFilterBy, type ListDef } from "./panel";
import { useQuery } from "./use-query";

type Sort = { col: number; dir: "asc" | "desc" };

export function DetailsDialog({ panel }: { panel: PanelName }) {
  const ctx = useDash();
  const def = listDef(panel, ctx.state);
  const tab = ctx.state.tabs[panel];
  const title = panel === "events" && tab === "props" ? `Property ${ctx.state.prop ?? ""}` : TAB_LABEL[tab === "map" ? "country" : tab] ?? PANEL_TITLE[panel];
  return (
    <Dialog title={title} open wide onClose={() => setState(ctx.state, { details: null })}>
      {def ? <DetailsTable def={def} /> : <p class="hint">Nothing to show.</p>}
      {panel === "events" && ctx.state.goal && ctx.state.tabs.events === "goals" && <GoalBySource goal={ctx.state.goal} />}
    </Dialog>
  );
}

function DetailsTable({ def, metrics, extra }: { def: ListDef; metrics?: MetricName[]; extra?: { goal: string } }) {
  const ctx = useDash();
  const body = metrics
    ? queryBody(ctx, { metrics, dimensions: [def.dimension], limit: 1000, ...(extra ?? {}) }, def.filters ?? [])
    : listBody(ctx, def, 1000, true);
  const q = useQuery(ctx.scope, body);
  const [search, setSearch] = useState("");
  const [sort, setSort] = useState<Sort | null>(null);
  const filterBy = useFilterBy();
  const searchId = useId();
  const data = q.shown;
  const cols = data ? data.columns : [def.column, ...body.metrics];
  const rows = useMemo(() => {
    if (!data) return [];
    const needle = search.trim().toLowerCase();
    let out: Row[] = shownRows(def, data.results);
    if (needle) {
      out = out.filter((r) => {
        const v = String(r.dimensions[0] ?? "");
        return v.toLowerCase().includes(needle) || valueLabel(def.dimension, v).toLowerCase().includes(needle);
      });
    }
    if (sort) {
      const key = (r: Row): Cell => (sort.col === 0 ? valueLabel(def.dimension, String(r.dimensions[0] ?? "")) : (r.metrics[sort.col - 1] ?? null));
      out = [...out].sort((a, b) => compareCells(key(a), key(b)) * (sort.dir === "asc" ? 1 : -1));
    }
    return out;
  }, [data, search, sort]);

  const header = (i: number, text: string) => {
    const active = sort?.col === i;
    const dir = active ? sort!.dir : undefined;
    return (
      <th key={i} class={i ? "num" : ""} aria-sort={active ? (dir === "asc" ? "ascending" : "descending") : "none"} scope="col">
        <button
          type="button"
          class="sort"
          onClick={() => setSort({ col: i, dir: active ? (dir === "desc" ? "asc" : "desc") : i === 0 ? "asc" : "desc" })}
        >
          {text}
          <span aria-hidden="true">{active ? (dir === "asc" ? " ▲" : " ▼") : ""}</span>
        </button>
      </th>
    );
  };

  return (
    <div class="details" data-testid="details">
      <label for={searchId} class="visually-hidden">
        Search
      </label>
      <input id={searchId} type="search" placeholder={`Search ${def.column.toLowerCase()}`} value={search} onInput={(e) => setSearch((e.currentTarget as HTMLInputElement).value)} />
      {!data && q.error ? (
        <PanelError error={q.error} onRetry={q.retry} />
      ) : !data ? (
        <Skeleton rows={12} />
      ) : (
        <div class={"details-scroll" + (q.loading ? " reloading" : "")}>
          <table>
            <thead>
              <tr>
                {header(0, def.column)}
                {cols.slice(1).map((m, i) => header(i + 1, shortLabel(m)))}
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => {
                const v = String(r.dimensions[0] ?? "");
                return (
                  <tr key={v} data-testid="details-row" data-value={v}>
                    <td>
                      <button type="button" class="link row-link" title={`Filter by ${valueLabel(def.dimension, v)}`} onClick={() => filterBy(def.dimension, v)}>
                        <span class="visually-hidden">Filter by </span>
                        <RowLabel dimension={def.dimension} value={v} />
                      </button>
                    </td>
                    {r.metrics.map((c, i) => (
                      <td class="num" key={i}>
                        {metricValue(cols[i + 1] ?? "", c, false)}
                      </td>
                    ))}
                  </tr>
                );
              })}
            </tbody>
          </table>
          {rows.length === 0 && <p class="hint">No rows{search ? " match the search" : ""}.</p>}
          {data.results.length >= 1000 && <p class="hint">The first 1,000 rows.</p>}
        </div>
      )}
    </div>
  );
}

function GoalBySource({ goal }: { goal: string }) {
  const def: ListDef = { dimension: "source", column: "Source", metrics: ["visitors", "conversion_rate"], detailMetrics: ["visitors", "conversion_rate"] };
  return (
    <>
      <h3 class="details-sub">Conversion rate of “{goal}” by source</h3>
      <DetailsTable def={def} metrics={["visitors", "conversion_rate"]} extra={{ goal }} />
    </>
  );
}

/** Numbers before nulls; strings by locale. */
export function compareCells(a: Cell, b: Cell): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  return String(a).localeCompare(String(b));
}
