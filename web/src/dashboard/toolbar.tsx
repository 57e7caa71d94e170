// The dashboard's controls: the period picker (with a custom range), the arrows moving the
// period, the comparison menu, the Filter button, and the chips of the active filters.
import { useId, useState } from "preact/hooks";
import { linkClick } from "../lib/router";
import { formatRange, isDate, periodDates, periodLabel, shiftPeriod } from "../lib/dates";
import { removeFilter, type DashState, type Period } from "../lib/url-state";
import { setState, stateUrl, useDash } from "./ctx";
import { filterLabel } from "./dimensions";
import { Menu } from "./menu";
import { SegmentsButton } from "./segments";

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
          label={compareText(state)}
          // The accessible name holds the visible text (WCAG 2.5.3, "label in name").
          ariaLabel={state.compare ? "Compare " + compareText(state) : "Compare: off"}
          buttonClass={state.compare ? "compare-on" : ""}
          testid="compare-menu"
        >
          {(close) => <CompareMenu close={close} />}
        </Menu>
      )}
      <button type="button" onClick={onFilter} data-testid="filter-button">
        <svg viewBox="0 0 16 16" width="14" height="14" aria-hidden="true">
          <path d="M2 3h12l-4.5 5.5V13l-3 1V8.5z" fill="none" stroke="currentColor" stroke-width="1.5" stroke-linejoin="round" />
        </svg>
        Filter
      </button>
      {!explore && ctx.scope.kind === "owner" && <SegmentsButton />}
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
      <RangeForm
        legend="Custom range"
        initial={[state.from ?? today, state.to ?? today]}
        today={today}
        submitText={(from, to) => `Show ${formatRange(from, to)}`}
        onSubmit={(from, to) => {
          setState(state, { period: "custom", from, to });
          close();
        }}
      />
    </>
  );
}

/** The compare button's text: "Compare" when off, else what the dashboard compares with. */
function compareText(s: DashState): string {
  if (s.compare === "custom" && s.compareFrom && s.compareTo) return "vs " + formatRange(s.compareFrom, s.compareTo);
  if (!s.compare) return "Compare";
  return (s.compare === "year_over_year" ? "vs last year" : "vs previous period") + (s.matchDayOfWeek ? ", same weekdays" : "");
}

function CompareMenu({ close }: { close: () => void }) {
  const ctx = useDash();
  const { state, today } = ctx;
  const named = state.compare === "previous_period" || state.compare === "year_over_year";
  // A new custom comparison starts from the period before the shown one (an owner usually
  // moves it from there).
  const shown = periodDates(state.period, state.from, state.to, today);
  const before = shown ? shiftPeriod("custom", shown[0], shown[1], -1, today) : null;
  const initial: [string, string] =
    state.compareFrom && state.compareTo ? [state.compareFrom, state.compareTo] : before ? [before.from, before.to] : [today, today];
  return (
    <>
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
      {named && (
        <label class="menu-check" title="Move the comparison back by whole weeks, so Mondays meet Mondays">
          <input
            type="checkbox"
            checked={state.matchDayOfWeek}
            data-testid="match-day-of-week"
            onChange={(e) => setState(state, { matchDayOfWeek: (e.currentTarget as HTMLInputElement).checked })}
          />
          Match day of week
        </label>
      )}
      <RangeForm
        legend="Compare with days of your choice"
        initial={initial}
        today={today}
        submitText={(from, to) => `Compare with ${formatRange(from, to)}`}
        onSubmit={(from, to) => {
          setState(state, { compare: "custom", compareFrom: from, compareTo: to });
          close();
        }}
      />
    </>
  );
}

/** Two date inputs and a submit button; `today` is the latest date allowed. */
function RangeForm(props: {
  legend: string;
  initial: [string, string];
  today: string;
  submitText: (from: string, to: string) => string;
  onSubmit: (from: string, to: string) => void;
}) {
  const [from, setFrom] = useState(props.initial[0]);
  const [to, setTo] = useState(props.initial[1]);
  const id = useId();
  const valid = isDate(from) && isDate(to) && from <= to && to <= props.today;
  return (
    <form
      class="custom-range"
      onSubmit={(e) => {
        e.preventDefault();
        if (valid) props.onSubmit(from, to);
      }}
    >
      <fieldset>
        <legend>{props.legend}</legend>
        <label for={id + "from"}>From</label>
        <input id={id + "from"} type="date" value={from} max={props.today} min="2000-01-01" onInput={(e) => setFrom((e.currentTarget as HTMLInputElement).value)} />
        <label for={id + "to"}>To</label>
        <input id={id + "to"} type="date" value={to} max={props.today} min="2000-01-01" onInput={(e) => setTo((e.currentTarget as HTMLInputElement).value)} />
      </fieldset>
      <button type="submit" class="primary" disabled={!valid}>
        {valid ? props.submitText(from, to) : "Show"}
      </button>
    </form>
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
