// Site settings, "Goals": the site's conversion goals (a custom event by name, or visits of a
// page pattern with `*` wildcards), a form adding one with suggestions from the site's traffic,
// and Delete with a confirm. The dashboard's goals panel shows their conversion rates.
import { useId, useState } from "preact/hooks";
import { api } from "../api/client";
import type { Goal, GoalList, NewGoal, Project } from "../api/types";
import { ConfirmDialog } from "../components/confirm-dialog";
import { ErrorState, FormError, Loading } from "../components/states";
import { useAction, useLoad } from "../components/use-api";
import { shortDate } from "../components/when";
import { SuggestionList, useSuggestions } from "../dashboard/suggestions";

export function GoalsSection({ project }: { project: Project }) {
  const base = `/api/v1/projects/${encodeURIComponent(project.id)}/goals`;
  const { data, error, retry, set } = useLoad<GoalList>(base);
  const goals = data?.goals ?? null;
  const [kind, setKind] = useState<"event" | "page">("event");
  const [value, setValue] = useState("");
  const [deleting, setDeleting] = useState<Goal | null>(null);
  const suggestions = useSuggestions(project);
  const id = useId();
  const { submit, busy, error: formError } = useAction(async () => {
    const body: NewGoal = kind === "event" ? { event: value.trim() } : { page: value.trim() };
    const g = await api<Goal>("POST", base, body);
    set((d) => ({ goals: [...(d?.goals ?? []), g] }));
    setValue("");
  });

  return (
    <section id="goals" class="settings-section card" aria-labelledby="goals-title">
      <h2 id="goals-title">Goals</h2>
      <p class="hint">
        A goal is a custom event, or a visit to a page (<code>*</code> matches any characters: <code>/docs/*</code>). The dashboard shows
        how many visitors reached each one, and funnels can use them as steps.
      </p>
      {error ? (
        <ErrorState error={error} onRetry={retry} />
      ) : !goals ? (
        <Loading />
      ) : goals.length === 0 ? (
        <p>No goals yet.</p>
      ) : (
        <ul class="goal-list">
          {goals.map((g) => (
            <li key={g.id} class="goal-item" data-testid="goal-item" data-name={g.name}>
              <span class={"badge " + (g.page !== null ? "page" : "event")}>{g.page !== null ? "Page" : "Event"}</span>
              <span class="goal-name">{g.page ?? g.event ?? g.name}</span>
              <span class="hint">added {shortDate(g.created_at)}</span>
              <button type="button" class="danger small" onClick={() => setDeleting(g)} aria-label={`Delete goal ${g.name}`}>
                Delete
              </button>
            </li>
          ))}
        </ul>
      )}
      <form class="inline-form goal-form" onSubmit={submit()}>
        <div>
          <label for={id + "kind"}>Goal type</label>
          <select id={id + "kind"} name="kind" value={kind} onChange={(e) => setKind(e.currentTarget.value as "event" | "page")}>
            <option value="event">Custom event</option>
            <option value="page">Page visit</option>
          </select>
        </div>
        <div class="inline-field">
          <label for={id + "value"}>{kind === "event" ? "Event name" : "Page path"}</label>
          <input
            id={id + "value"}
            name="goal"
            required
            maxLength={500}
            autocomplete="off"
            spellcheck={false}
            list={id + "list"}
            placeholder={kind === "event" ? "e.g. Signup" : "e.g. /thank-you or /docs/*"}
            value={value}
            onInput={(e) => setValue(e.currentTarget.value)}
          />
          <SuggestionList id={id + "list"} values={kind === "event" ? suggestions.events : suggestions.pages} />
        </div>
        <button type="submit" disabled={busy}>
          {busy ? "Adding…" : "Add goal"}
        </button>
      </form>
      <FormError error={formError} />
      <ConfirmDialog
        open={deleting !== null}
        title="Delete this goal?"
        confirmLabel="Delete goal"
        onClose={() => setDeleting(null)}
        onConfirm={async () => {
          const g = deleting!;
          await api("DELETE", `${base}/${encodeURIComponent(g.id)}`);
          set((d) => ({ goals: (d?.goals ?? []).filter((x) => x.id !== g.id) }));
        }}
      >
        <p>
          <strong>{deleting?.name}</strong> leaves the goals panel. The events and visits it counted stay; you can add it again later.
        </p>
      </ConfirmDialog>
    </section>
  );
}
