// The visitors map: countries shaded by visitors (a choropleth in plain SVG). The shapes are
// a separate asset (world.json, ~10 KB gzipped, see tools/make-world.mjs) fetched the first
// time a map is shown, so they are no part of the initial JavaScript. Clicking a country
// filters by it; below the map, the top countries as rows (the keyboard way to filter).
import { useEffect, useState } from "preact/hooks";
import type { QueryResult } from "../api/types";
import { fullNumber } from "../lib/format";
import { countryName } from "./dimensions";
import { listDef } from "./defs";
import { Rows, Skeleton, useFilterBy } from "./panel";
import { useDash } from "./ctx";

declare const __WORLD_URL__: string;

interface World {
  viewBox: string;
  paths: Record<string, string>;
}
let world: World | null = null;
let loading: Promise<World> | null = null;
/** Fetches the shapes once (main.tsx starts it early on a dashboard); later calls share it. */
export function preloadWorld(): Promise<World> {
  loading ??= fetch(__WORLD_URL__)
    .then((r) => {
      if (!r.ok) throw new Error(`map: ${r.status}`);
      return r.json() as Promise<World>;
    })
    .then((w) => (world = w))
    .catch((e) => {
      loading = null;
      throw e;
    });
  return loading;
}

export function WorldMap({ data, loading: busy }: { data: QueryResult | null; loading: boolean }) {
  const ctx = useDash();
  const def = listDef("locations", ctx.state)!;
  const [shapes, setShapes] = useState<World | null>(world);
  const [failed, setFailed] = useState(false);
  const filterBy = useFilterBy();
  useEffect(() => {
    if (shapes) return;
    let live = true;
    preloadWorld().then(
      (w) => live && setShapes(w),
      () => live && setFailed(true),
    );
    return () => {
      live = false;
    };
  }, []);

  const visitors = new Map<string, number>();
  for (const r of data?.results ?? []) {
    const v = r.metrics[0];
    if (typeof v === "number") visitors.set(String(r.dimensions[0] ?? "").toUpperCase(), v);
  }
  const max = Math.max(0, ...visitors.values());

  return (
    <div class={"world" + (busy && data ? " reloading" : "")}>
      {shapes ? (
        <svg class="world-map" viewBox={shapes.viewBox} role="img" aria-label="Map of visitors by country" data-testid="world-map">
          {Object.entries(shapes.paths).map(([code, d]) => {
            const v = visitors.get(code) ?? 0;
            const name = countryName(code);
            return (
              <path
                key={code}
                d={d}
                class={"country" + (v > 0 ? " has" : "")}
                style={v > 0 ? { fillOpacity: 0.18 + 0.82 * (v / max) } : undefined}
                data-value={code}
                data-metric-value={v}
                onClick={v > 0 ? () => filterBy("country", code) : undefined}
              >
                <title>{`${name}: ${fullNumber(v)} visitor${v === 1 ? "" : "s"}`}</title>
              </path>
            );
          })}
        </svg>
      ) : failed ? (
        <p class="hint world-failed">The map could not be loaded; see the Countries tab.</p>
      ) : (
        <div class="world-map world-skeleton" aria-busy="true" aria-label="Loading the map" />
      )}
      {data ? <Rows def={def} data={data} limit={3} /> : <Skeleton rows={3} />}
    </div>
  );
}
