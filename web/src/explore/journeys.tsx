// Journeys (/sites/{id}/journeys): where visits go from a start page (or from wherever they
// entered), step by step to a depth of 1 to 6: the journeys API's top nodes per depth drawn as
// columns of boxes with bands between them (lib/journey-layout.ts), the visitors and drop-off per
// depth, and the most frequent whole paths. Clicking a page node follows it (it becomes the
// start). The start and the depth are in the URL (`start=/pricing&depth=4`).
import { useId, useState } from "preact/hooks";
import type { JourneyNode, JourneyRequest, JourneyResult } from "../api/types";
import { DEFAULT_JOURNEY_DEPTH, journeyParams, MAX_JOURNEY_DEPTH, MIN_JOURNEY_DEPTH, parseJourneyView, type JourneyView } from "../lib/explore-state";
import { fullNumber } from "../lib/format";
import { DEFAULT_LAYOUT, layoutJourney, truncateMiddle } from "../lib/journey-layout";
import { location, navigate } from "../lib/router";
import { joinQuery, serializeState } from "../lib/url-state";
import { useDash } from "../dashboard/ctx";
import { PanelError, Skeleton } from "../dashboard/panel";
import { SuggestionList, useSuggestions } from "../dashboard/suggestions";
import { useScope } from "./scope";
import { useCall } from "./use-call";

/** Nodes per depth and paths the page asks for. */
const JOURNEY_LIMIT = 10;
/** Characters of a label that fit in a node's box. */
const LABEL_CHARS = 20;

function nodeName(n: { kind: string; value: string }): string {
  return n.kind === "event" ? `Event ${n.value}` : n.value;
}

export function JourneysPage() {
  const ctx = useDash();
  const view = parseJourneyView(location.value.search);
  const scope = useScope();
  const urlOf = (v: JourneyView) => window.location.pathname + joinQuery(serializeState(ctx.state), journeyParams(v));
  const body: JourneyRequest = { ...scope, depth: view.depth, limit: JOURNEY_LIMIT, ...(view.start ? { start: view.start } : {}) };
  const result = useCall<JourneyResult>("POST", "/api/v1/journeys", body);

  return (
    <>
      <section class="card journey-controls" aria-label="Journey options">
        <JourneyForm key={view.start ?? ""} view={view} onShow={(v) => navigate(urlOf(v))} />
      </section>
      <section class="card explore-main" aria-labelledby="journeys-title">
        <h2 id="journeys-title">
          {view.start ? (
            <>
              Journeys from <code data-testid="journey-start">{view.start}</code>
            </>
          ) : (
            "Journeys from the entry page"
          )}
        </h2>
        {!result.shown && result.error ? (
          <PanelError error={result.error} onRetry={result.retry} />
        ) : !result.shown ? (
          <Skeleton rows={6} />
        ) : result.shown.nodes.length === 0 ? (
          <p class="hint explore-empty">No visit {view.start ? "went through this page" : "was recorded"} in this period.</p>
        ) : (
          <div class={result.loading ? "reloading" : undefined} aria-busy={result.loading}>
            <Diagram result={result.shown} follow={(n) => urlOf({ ...view, start: n.value })} />
            <Depths result={result.shown} />
            <Paths result={result.shown} />
          </div>
        )}
        {result.shown && result.error ? <PanelError error={result.error} onRetry={result.retry} /> : null}
      </section>
    </>
  );
}

function JourneyForm({ view, onShow }: { view: JourneyView; onShow: (v: JourneyView) => void }) {
  const ctx = useDash();
  const [start, setStart] = useState(view.start ?? "");
  const suggestions = useSuggestions(ctx.project);
  const id = useId();
  return (
    <form
      class="inline-form journey-form"
      onSubmit={(e) => {
        e.preventDefault();
        onShow({ ...view, start: start.trim() || null });
      }}
    >
      <div class="inline-field">
        <label for={id + "start"}>Start page</label>
        <input
          id={id + "start"}
          name="start"
          autocomplete="off"
          spellcheck={false}
          maxLength={500}
          list={id + "pages"}
          placeholder="Any entry page (or /pricing, /docs/*)"
          value={start}
          onInput={(e) => setStart(e.currentTarget.value)}
        />
        <SuggestionList id={id + "pages"} values={suggestions.pages} />
      </div>
      <div>
        <label for={id + "depth"}>Steps</label>
        <select id={id + "depth"} name="depth" value={String(view.depth)} onChange={(e) => onShow({ ...view, depth: Number(e.currentTarget.value) })}>
          {Array.from({ length: MAX_JOURNEY_DEPTH - MIN_JOURNEY_DEPTH + 1 }, (_, i) => i + MIN_JOURNEY_DEPTH).map((d) => (
            <option key={d} value={d}>
              {d}
              {d === DEFAULT_JOURNEY_DEPTH ? " (default)" : ""}
            </option>
          ))}
        </select>
      </div>
      <button type="submit" class="primary">
        Show
      </button>
      {view.start && (
        <button type="button" onClick={() => onShow({ ...view, start: null })}>
          From any entry page
        </button>
      )}
    </form>
  );
}

/** An SVG link has no `pathname` for linkClick: plain left clicks navigate here, in the app. */
function followClick(e: MouseEvent, url: string): void {
  if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  e.preventDefault();
  navigate(url);
}

/** Room for the depth headings above the columns. */
const HEAD = 24;

function Diagram({ result, follow }: { result: JourneyResult; follow: (n: JourneyNode) => string }) {
  const o = DEFAULT_LAYOUT;
  const layout = layoutJourney(result, o);
  const titleId = useId();
  return (
    <div class="journey-scroll" role="region" aria-labelledby={titleId} tabIndex={0}>
      <svg
        class="journey"
        width={layout.width}
        height={layout.height + HEAD}
        viewBox={`0 ${-HEAD} ${layout.width} ${layout.height + HEAD}`}
        role="group"
        aria-labelledby={titleId}
        data-testid="journey-diagram"
      >
        <title id={titleId}>Journeys: the top steps at each depth; a page follows its journeys when chosen</title>
        {layout.columns.map((c) => (
          <text key={c.depth} x={c.x} y={-8} class="journey-depth" aria-hidden="true">
            {c.depth === 1 ? "Start" : `Step ${c.depth}`}
          </text>
        ))}
        <g class="journey-links" aria-hidden="true">
          {layout.links.map((l, i) => (
            <path key={i} d={l.d} stroke-width={l.width} data-testid="journey-link" data-from={l.link.from} data-to={l.link.to} data-visitors={l.link.visitors}>
              <title>
                {`${nodeName(result.nodes[l.link.from]!)} → ${nodeName(result.nodes[l.link.to]!)}: ${fullNumber(l.link.visitors)} visitors`}
              </title>
            </path>
          ))}
        </g>
        {layout.nodes.map((p) => {
          const n = p.node;
          const label = `${nodeName(n)}, step ${n.depth}: ${fullNumber(n.visitors)} visitors`;
          const box = (
            <>
              <rect x={p.x} y={p.y} width={o.nodeWidth} height={p.h} rx={4} class="journey-box" />
              <rect x={p.x} y={p.y} width={4} height={p.h} class="journey-edge" />
              <text x={p.x + 10} y={p.y + Math.min(p.h / 2, 15) + 4} class="journey-label" aria-hidden="true">
                {truncateMiddle(nodeName(n), LABEL_CHARS)}
              </text>
              {p.h >= 44 && (
                <text x={p.x + 10} y={p.y + 34} class="journey-count" aria-hidden="true">
                  {fullNumber(n.visitors)}
                </text>
              )}
            </>
          );
          const data = { "data-testid": "journey-node", "data-depth": n.depth, "data-kind": n.kind, "data-value": n.value, "data-visitors": n.visitors };
          // Pages can be followed; an event cannot be a start.
          return n.kind === "page" ? (
            <a key={p.index} href={follow(n)} onClick={(e) => followClick(e, follow(n))} class="journey-node" {...data}>
              {/* The link's accessible name (the box's text, shortened, is hidden from it). */}
              <title>{`Follow ${label}`}</title>
              {box}
            </a>
          ) : (
            <g key={p.index} role="img" aria-label={label} class="journey-node event" {...data}>
              <title>{label}</title>
              {box}
            </g>
          );
        })}
      </svg>
    </div>
  );
}

function Depths({ result }: { result: JourneyResult }) {
  return (
    <div class="table-wrap">
      <table class="journey-depths">
        <caption class="visually-hidden">Visitors and drop-off at each step</caption>
        <thead>
          <tr>
            <th scope="col">Step</th>
            <th scope="col" class="num">
              Visitors
            </th>
            <th scope="col" class="num">
              Went no further
            </th>
          </tr>
        </thead>
        <tbody>
          {result.depths.map((d) => (
            <tr key={d.depth} data-testid="journey-depth" data-depth={d.depth} data-visitors={d.visitors} data-drop-off={d.drop_off}>
              <td>{d.depth === 1 ? "Start" : `Step ${d.depth}`}</td>
              <td class="num">{fullNumber(d.visitors)}</td>
              <td class="num">{fullNumber(d.drop_off)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Paths({ result }: { result: JourneyResult }) {
  if (!result.paths.length) return null;
  return (
    <>
      <h3 class="paths-title">Most frequent paths</h3>
      <ol class="journey-paths">
        {result.paths.map((p, i) => (
          <li key={i} data-testid="journey-path" data-visitors={p.visitors}>
            <div class="path-row">
              <span class="path-steps">
                {p.steps.map((s, j) => (
                  <span key={j} class={"path-step" + (s.kind === "event" ? " event" : "")}>
                    {j > 0 && (
                      <>
                        <span class="path-arrow" aria-hidden="true">
                          →
                        </span>
                        <span class="visually-hidden"> then </span>
                      </>
                    )}
                    {nodeName(s)}
                  </span>
                ))}
              </span>
              <span class="num">
                {fullNumber(p.visitors)} <span class="hint">visitors</span>
              </span>
            </div>
          </li>
        ))}
      </ol>
    </>
  );
}
