// The dashboard's controls: the period picker (with a custom range), the arrows moving the
// period, the comparison menu, the Filter button, and the chips of the active filters.
import { useState } from "preact/hooks";
import { linkClick } from "../lib/router";
import { formatRange, isDate, periodLabel, shiftPeriod } from "../lib/dates";
import { removeFilter, type Period } from "../lib/url-state";
import { setState, stateUrl, useDash } from "./ctx";
import { filterLabel } from "./dimensions";
import { Menu } from "./menu";

const PERIOD_ITEMS: [Period, string, string][] = [
  ["day", "Today", "D"],
  ["yesterday", "Yesterday", "E"],
  ["realtime", "Realtime", "R"],
  ["7d", "Last 7 days", "W"],
  ["30d", "Last 30 days", "T"],
  ["month", "Month to date", "M"],
  ["last_month", "Last month", "L"],
  ["6mo", "Last 6 months", ""],
  ["12mo", "Last 12 months", "Y"],
  ["all", "All time", "A"],
];

/**
 * `onHelp` absent: no shortcuts button (the explore pages have no shortcuts); `explore`: no
 * comparison and no realtime period (funnels, journeys and sessions answer for a whole period).
 */
export function Toolbar({ onFilter, onHelp, explore = false }: { onFilter: () => void; onHelp?: () => void; explore?: boolean }) {
  const ctx = useDash();
  const { state, today } = ctx;
  const back = shiftPeriod(state.period, state.from, state.to, -1, today);
  const fwd = shiftPeriod(state.period, state.from, state.to, 1, today);
  const label = periodLabel(state.period, state.from, state.to);
  const move = (r: { from: string; to: string } | null) => r && setState(state, { period: "custom", from: r.from, to: r.to });

  return (
    <div class="toolbar">
      <div class="period-nav">
        <button type="button" class="arrow" aria-label="Previous period" title="Previous period (←)" disabled={!back} onClick={() => move(back)}>
          <svg viewBox="0 0 16 16" width="14" height="14" aria-hidden="true">
            <path d="M10 3L5 8l5 5" fill="none" stroke="currentColor" stroke-width="1.8" />
          </svg>
        </button>
        <button type="button" class="arrow" aria-label="Next period" title="Next period (→)" disabled={!fwd} onClick={() => move(fwd)}>
          <svg viewBox="0 0 16 16" width="14" height="14" aria-hidden="true">
            <path d="M6 3l5 5-5 5" fill="none" stroke="currentColor" stroke-width="1.8" />
          </svg>
        </button>
        <Menu label={<span data-testid="period-label">{label}</span>} ariaLabel={`Period: ${label}`} buttonClass="period-button" testid="period-picker">
          {(close) => <PeriodMenu close={close} dashboard={!explore} />}
        </Menu>
      </div>
      {state.period !== "realtime" && !explore && (
        <Menu
          label={state.compare === "year_over_year" ? "vs last year" : state.compare ? "vs previous period" : "Compare"}
          // The accessible name holds the visible text (WCAG 2.5.3, "label in name").
          ariaLabel={state.compare === "year_over_year" ? "Compare vs last year" : state.compare ? "Compare vs previous period" : "Compare: off"}
          buttonClass={state.compare ? "compare-on" : ""}
          testid="compare-menu"
        >
          {(close) => (
            <ul class="menu-list">
              {(
                [
                  [null, "Off"],
                  ["previous_period", "Previous period"],
                  ["year_over_year", "Year over year"],
                ] as const
              ).map(([c, text]) => (
                <li key={text}>
                  <a href={stateUrl(state, { compare: c })} aria-current={state.compare === c ? "true" : undefined} onClick={(e) => { linkClick(e); close(); }}>
                    {text}
                  </a>
                </li>
              ))}
            </ul>
          )}
        </Menu>
      )}
      <button type="button" onClick={onFilter} data-testid="filter-button">
        <svg viewBox="0 0 16 16" width="14" height="14" aria-hidden="true">
          <path d="M2 3h12l-4.5 5.5V13l-3 1V8.5z" fill="none" stroke="currentColor" stroke-width="1.5" stroke-linejoin="round" />
        </svg>
        Filter
      </button>
      {onHelp && (
        <button type="button" class="help-button" aria-label="Keyboard shortcuts" title="Keyboard shortcuts (?)" onClick={onHelp}>
          ?
        </button>
      )}
    </div>
  );
}

function PeriodMenu({ close, dashboard }: { close: () => void; dashboard: boolean }) {
  const ctx = useDash();
  const { state, today } = ctx;
  const [from, setFrom] = useState(state.from ?? today);
  const [to, setTo] = useState(state.to ?? today);
  const valid = isDate(from) && isDate(to) && from <= to && to <= today;
  return (
    <>
      <ul class="menu-list">
        {PERIOD_ITEMS.filter(([p]) => dashboard || p !== "realtime").map(([p, text, key]) => (
          <li key={p}>
            <a
              href={stateUrl(state, { period: p })}
              aria-current={state.period === p ? "true" : undefined}
              onClick={(e) => {
                linkClick(e);
                close();
              }}
            >
              <span>{text}</span>
              {key && dashboard && <kbd aria-hidden="true">{key}</kbd>}
            </a>
          </li>
        ))}
      </ul>
      <form
        class="custom-range"
        onSubmit={(e) => {
          e.preventDefault();
          if (!valid) return;
          setState(state, { period: "custom", from, to });
          close();
        }}
      >
        <fieldset>
          <legend>Custom range</legend>
          <label for="range-from">From</label>
          <input id="range-from" type="date" value={from} max={today} min="2000-01-01" onInput={(e) => setFrom((e.currentTarget as HTMLInputElement).value)} />
          <label for="range-to">To</label>
          <input id="range-to" type="date" value={to} max={today} min="2000-01-01" onInput={(e) => setTo((e.currentTarget as HTMLInputElement).value)} />
        </fieldset>
        <button type="submit" class="primary" disabled={!valid}>
          {valid ? `Show ${formatRange(from, to)}` : "Show"}
        </button>
      </form>
    </>
  );
}

export function FilterChips() {
  const ctx = useDash();
  const { state } = ctx;
  if (!state.filters.length) return null;
  return (
    <div class="chips" data-testid="filter-chips">
      <ul>
        {state.filters.map((f, i) => (
          <li key={i} class="chip" data-testid="filter-chip">
            <span>{filterLabel(f)}</span>
            <button type="button" aria-label={`Remove filter: ${filterLabel(f)}`} onClick={() => setState(state, { filters: removeFilter(state.filters, i) })}>
              <svg viewBox="0 0 16 16" width="12" height="12" aria-hidden="true">
                <path d="M4 4l8 8M12 4l-8 8" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" />
              </svg>
            </button>
          </li>
        ))}
      </ul>
      {state.filters.length > 1 && (
        <button type="button" class="link" onClick={() => setState(state, { filters: [] })}>
          Clear all
        </button>
      )}
    </div>
  );
}
