// Funnels (/sites/{id}/funnels): build 2 to 8 steps from pages (with `*` wildcards), custom
// events and goals, see how many visitors reached each step in order within a visit, the
// drop-off between steps and the median time from one to the next (all the funnel API's
// numbers), and save, open and delete funnels. The steps and the saved funnel shown are in the
// URL (`step=page:/pricing&step=event:Signup&funnel=<id>`).
import { useEffect, useId, useState } from "preact/hooks";
import { api } from "../api/client";
import type { FunnelRequest, FunnelResult, FunnelStepSpec, Goal, GoalList, SavedFunnel, SavedFunnelList } from "../api/types";
import { ConfirmDialog } from "../components/confirm-dialog";
import { FormError } from "../components/states";
import { useAction, useLoad } from "../components/use-api";
import {
  cleanSteps, funnelParams, makeStep, MAX_FUNNEL_STEPS, MIN_FUNNEL_STEPS, parseFunnelView, sameSteps, stepKind, stepValue,
  type FunnelView, type StepKind,
} from "../lib/explore-state";
import { durationMs } from "../lib/explore-format";
import { fullNumber, percent } from "../lib/format";
import { location, navigate } from "../lib/router";
import { joinQuery, serializeState } from "../lib/url-state";
import { useDash } from "../dashboard/ctx";
import { PanelError, Skeleton } from "../dashboard/panel";
import { SuggestionList, useSuggestions } from "../dashboard/suggestions";
import { useScope } from "./scope";
import { useCall } from "./use-call";

const KIND_LABEL: Record<StepKind, string> = { page: "Page", event: "Event", goal: "Goal" };

interface Row {
  kind: StepKind;
  value: string;
}

function rowsOf(steps: FunnelStepSpec[]): Row[] {
  const rows = steps.map((s) => ({ kind: stepKind(s), value: stepValue(s) }));
  while (rows.length < MIN_FUNNEL_STEPS) rows.push({ kind: "page", value: "" });
  return rows;
}

export function FunnelsPage() {
  const ctx = useDash();
  const search = location.value.search;
  const view = parseFunnelView(search);
  const base = `/api/v1/projects/${encodeURIComponent(ctx.project.id)}`;
  const goals = useLoad<GoalList>(`${base}/goals`);
  const saved = useLoad<SavedFunnelList>(`${base}/funnels`);
  const funnels = saved.data?.funnels ?? [];
  const current = view.funnel ? funnels.find((f) => f.id === view.funnel) ?? null : null;

  const show = (v: FunnelView, replace = false) =>
    navigate(window.location.pathname + joinQuery(serializeState(ctx.state), funnelParams(v)), replace);

  // A link naming a saved funnel without its steps (or with other steps): show the saved ones.
  useEffect(() => {
    if (current && !sameSteps(current.steps, view.steps)) show({ steps: current.steps, funnel: current.id }, true);
  }, [current?.id]);

  const scope = useScope();
  const ready = view.steps.length >= MIN_FUNNEL_STEPS;
  const body: FunnelRequest = { ...scope, steps: view.steps };
  const result = useCall<FunnelResult>("POST", ready ? "/api/v1/funnel" : null, body);

  return (
    <div class="explore-grid">
      <section class="card explore-side" aria-labelledby="funnel-build-title">
        <SavedPicker funnels={funnels} current={current} error={saved.error} onOpen={(f) => show(f ? { steps: f.steps, funnel: f.id } : { steps: [], funnel: null })}
          onDeleted={(f) => {
            saved.set((d) => ({ funnels: (d?.funnels ?? []).filter((x) => x.id !== f.id) }));
            show({ steps: view.steps, funnel: null }, true);
          }}
        />
        <h2 id="funnel-build-title">{current ? `Steps of ${current.name}` : "Build a funnel"}</h2>
        <Builder key={funnelParams({ steps: view.steps, funnel: null }).join("&")} steps={view.steps} goals={goals.data?.goals ?? []} onShow={(steps) => show({ steps, funnel: current && sameSteps(current.steps, steps) ? current.id : null })} />
        {ready && !current && (
          <SaveForm
            steps={view.steps}
            onSaved={(f) => {
              saved.set((d) => ({ funnels: [...(d?.funnels ?? []), f] }));
              show({ steps: f.steps, funnel: f.id }, true);
            }}
          />
        )}
      </section>
      <section class="card explore-main" aria-labelledby="funnel-title">
        <h2 id="funnel-title">{current?.name ?? "Funnel"}</h2>
        {!ready ? (
          <p class="hint explore-empty">Choose at least two steps, then Show funnel. A visitor reaches a step when one of their visits went through every earlier step, in order.</p>
        ) : !result.shown && result.error ? (
          <PanelError error={result.error} onRetry={result.retry} />
        ) : !result.shown ? (
          <Skeleton rows={view.steps.length} />
        ) : (
          <FunnelChart result={result.shown} loading={result.loading} />
        )}
        {result.shown && result.error ? <PanelError error={result.error} onRetry={result.retry} /> : null}
      </section>
    </div>
  );
}

function SavedPicker({
  funnels,
  current,
  error,
  onOpen,
  onDeleted,
}: {
  funnels: SavedFunnel[];
  current: SavedFunnel | null;
  error: unknown;
  onOpen: (f: SavedFunnel | null) => void;
  onDeleted: (f: SavedFunnel) => void;
}) {
  const ctx = useDash();
  const id = useId();
  const [deleting, setDeleting] = useState<SavedFunnel | null>(null);
  return (
    <div class="saved-funnels">
      <label for={id}>Saved funnels</label>
      <div class="saved-row">
        <select id={id} data-testid="saved-funnels" value={current?.id ?? ""} onChange={(e) => onOpen(funnels.find((f) => f.id === e.currentTarget.value) ?? null)}>
          <option value="">{funnels.length ? "New funnel" : "None saved yet"}</option>
          {funnels.map((f) => (
            <option key={f.id} value={f.id}>
              {f.name}
            </option>
          ))}
        </select>
        {current && (
          <button type="button" class="danger small" onClick={() => setDeleting(current)} aria-label={`Delete funnel ${current.name}`}>
            Delete
          </button>
        )}
      </div>
      <FormError error={error} />
      <ConfirmDialog
        open={deleting !== null}
        title="Delete this funnel?"
        confirmLabel="Delete funnel"
        onClose={() => setDeleting(null)}
        onConfirm={async () => {
          const f = deleting!;
          await api("DELETE", `/api/v1/projects/${encodeURIComponent(ctx.project.id)}/funnels/${encodeURIComponent(f.id)}`);
          onDeleted(f);
        }}
      >
        <p>
          The saved funnel <strong>{deleting?.name}</strong> is deleted. Its steps stay on screen until you leave.
        </p>
      </ConfirmDialog>
    </div>
  );
}

function Builder({ steps, goals, onShow }: { steps: FunnelStepSpec[]; goals: Goal[]; onShow: (steps: FunnelStepSpec[]) => void }) {
  const ctx = useDash();
  const [rows, setRows] = useState<Row[]>(() => rowsOf(steps));
  const [error, setError] = useState("");
  const suggestions = useSuggestions(ctx.project);
  const id = useId();
  const update = (i: number, patch: Partial<Row>) => setRows(rows.map((r, j) => (j === i ? { ...r, ...patch } : r)));
  const move = (i: number, by: number) => {
    const next = [...rows];
    [next[i], next[i + by]] = [next[i + by]!, next[i]!];
    setRows(next);
  };

  return (
    <form
      class="funnel-builder"
      onSubmit={(e) => {
        e.preventDefault();
        const clean = cleanSteps(rows);
        if (!clean) return setError(`Fill in ${MIN_FUNNEL_STEPS} to ${MAX_FUNNEL_STEPS} steps.`);
        setError("");
        onShow(clean);
      }}
    >
      <SuggestionList id={id + "pages"} values={suggestions.pages} />
      <SuggestionList id={id + "events"} values={suggestions.events} />
      <ol class="step-rows">
        {rows.map((r, i) => (
          <li key={i} class="step-row" data-testid="step-row">
            <fieldset>
              <legend>Step {i + 1}</legend>
              <div class="step-fields">
                <label class="visually-hidden" for={`${id}k${i}`}>
                  Step {i + 1} type
                </label>
                <select id={`${id}k${i}`} class="step-kind" value={r.kind} onChange={(e) => update(i, { kind: e.currentTarget.value as StepKind, value: "" })}>
                  {(["page", "event", "goal"] as const).map((k) => (
                    <option key={k} value={k} disabled={k === "goal" && goals.length === 0}>
                      {KIND_LABEL[k]}
                    </option>
                  ))}
                </select>
                <label class="visually-hidden" for={`${id}v${i}`}>
                  Step {i + 1} {r.kind === "page" ? "page path" : r.kind === "event" ? "event name" : "goal"}
                </label>
                {r.kind === "goal" ? (
                  <select id={`${id}v${i}`} class="step-value" value={r.value} onChange={(e) => update(i, { value: e.currentTarget.value })}>
                    <option value="">Choose a goal</option>
                    {goals.map((g) => (
                      <option key={g.id} value={g.id}>
                        {g.name}
                      </option>
                    ))}
                  </select>
                ) : (
                  <input
                    id={`${id}v${i}`}
                    class="step-value"
                    autocomplete="off"
                    spellcheck={false}
                    maxLength={500}
                    list={id + (r.kind === "page" ? "pages" : "events")}
                    placeholder={r.kind === "page" ? "/pricing or /docs/*" : "Signup"}
                    value={r.value}
                    onInput={(e) => update(i, { value: e.currentTarget.value })}
                  />
                )}
              </div>
              <div class="step-actions">
                <button type="button" class="small" disabled={i === 0} onClick={() => move(i, -1)} aria-label={`Move step ${i + 1} up`}>
                  ↑
                </button>
                <button type="button" class="small" disabled={i === rows.length - 1} onClick={() => move(i, 1)} aria-label={`Move step ${i + 1} down`}>
                  ↓
                </button>
                <button type="button" class="small" disabled={rows.length <= MIN_FUNNEL_STEPS} onClick={() => setRows(rows.filter((_, j) => j !== i))} aria-label={`Remove step ${i + 1}`}>
                  ✕
                </button>
              </div>
            </fieldset>
          </li>
        ))}
      </ol>
      <p class="form-error error-text" role="alert">
        {error}
      </p>
      <div class="builder-actions">
        <button type="button" disabled={rows.length >= MAX_FUNNEL_STEPS} onClick={() => setRows([...rows, { kind: "page", value: "" }])}>
          Add a step
        </button>
        <button type="submit" class="primary">
          Show funnel
        </button>
      </div>
    </form>
  );
}

function SaveForm({ steps, onSaved }: { steps: FunnelStepSpec[]; onSaved: (f: SavedFunnel) => void }) {
  const ctx = useDash();
  const [name, setName] = useState("");
  const id = useId();
  const { submit, busy, error } = useAction(async () => {
    const f = await api<SavedFunnel>("POST", `/api/v1/projects/${encodeURIComponent(ctx.project.id)}/funnels`, {
      name: name.trim(),
      steps: steps.map((s) => makeStep(stepKind(s), stepValue(s))),
    });
    setName("");
    onSaved(f);
  });
  return (
    <form class="inline-form save-funnel" onSubmit={submit()}>
      <div class="inline-field">
        <label for={id}>Save these steps as</label>
        <input id={id} name="funnel-name" required maxLength={100} placeholder="e.g. Signup" value={name} onInput={(e) => setName(e.currentTarget.value)} />
      </div>
      <button type="submit" disabled={busy}>
        {busy ? "Saving…" : "Save funnel"}
      </button>
      <FormError error={error} />
    </form>
  );
}

/** One bar per step, as wide as its conversion from the first step; the drop-off between. */
function FunnelChart({ result, loading }: { result: FunnelResult; loading: boolean }) {
  const first = result.steps[0]?.visitors ?? 0;
  const last = result.steps[result.steps.length - 1];
  return (
    <div class={loading ? "reloading" : undefined} aria-busy={loading}>
      <p class="funnel-summary">
        {first === 0 ? (
          "No visit reached the first step in this period."
        ) : (
          <>
            <strong data-testid="funnel-conversion">{percent(last?.conversion_rate)}</strong> of {fullNumber(first)} visitors completed the funnel.
          </>
        )}
      </p>
      <ol class="funnel" aria-label="Funnel steps">
        {result.steps.map((s, i) => (
          <li
            key={i}
            class="funnel-step"
            data-testid="funnel-step"
            data-label={s.label}
            data-visitors={s.visitors}
            data-conversion-rate={s.conversion_rate}
            data-drop-off={s.drop_off}
            data-drop-off-rate={s.drop_off_rate}
            data-median-ms={s.median_ms_from_previous ?? ""}
          >
            {i > 0 && (
              <p class="funnel-drop">
                <span aria-hidden="true">↘ </span>
                {fullNumber(s.drop_off)} dropped off ({percent(s.drop_off_rate)})
                {s.median_ms_from_previous !== null && <> · median {durationMs(s.median_ms_from_previous)} from step {i}</>}
              </p>
            )}
            <div class="funnel-head">
              <span class="funnel-num" aria-hidden="true">
                {i + 1}
              </span>
              <span class="funnel-label">
                <span class="visually-hidden">Step {i + 1}: </span>
                {s.label}
              </span>
              <span class="num">
                {fullNumber(s.visitors)} <span class="hint">visitors</span>
              </span>
              <span class="num funnel-cr">{percent(s.conversion_rate)}</span>
            </div>
            <div class="funnel-bar" aria-hidden="true">
              <span style={{ width: `${Math.min(100, Math.max(0, s.conversion_rate))}%` }} />
            </div>
          </li>
        ))}
      </ol>
    </div>
  );
}
