// Annotations: an owner's notes on dates of the graph ("launched v2"). The graph marks the notes
// of its period (lib/annotations.ts says which bucket); the Notes button opens a dialog listing
// them, where the owner adds and deletes notes. A share link's view reads them, read-only.
import { useId, useState } from "preact/hooks";
import { api, type QueryScope } from "../api/client";
import type { Annotation, AnnotationList, NewAnnotation } from "../api/types";
import { Dialog } from "../components/dialog";
import { ErrorState, FormError } from "../components/states";
import { useAction, useLoad } from "../components/use-api";
import { formatRange } from "../lib/dates";
import type { DashCtx } from "./ctx";

/** Longest note (the API's MAX_ANNOTATION_CHARS). */
const MAX_NOTE_CHARS = 200;

export function notesPath(scope: QueryScope, projectId: string): string {
  return scope.kind === "owner"
    ? `/api/v1/projects/${encodeURIComponent(projectId)}/annotations`
    : `/api/v1/share/${encodeURIComponent(scope.slug)}/annotations`;
}

/** The site's notes (loaded once per dashboard: they do not change with its filters). */
export function useNotes(ctx: DashCtx) {
  return useLoad<AnnotationList>(notesPath(ctx.scope, ctx.project.id));
}

export type Notes = ReturnType<typeof useNotes>;

export function NotesDialog({
  ctx, notes, inPeriod, defaultDate, open, onClose,
}: {
  ctx: DashCtx;
  notes: Notes;
  /** The notes of the period shown, by date. */
  inPeriod: Annotation[];
  /** The date the form starts with: the period's last day. */
  defaultDate: string;
  open: boolean;
  onClose: () => void;
}) {
  const owner = ctx.scope.kind === "owner";
  const base = notesPath(ctx.scope, ctx.project.id);
  const id = useId();
  const [date, setDate] = useState(defaultDate);
  const [text, setText] = useState("");
  const add = useAction(async () => {
    const body: NewAnnotation = { date, text: text.trim() };
    const note = await api<Annotation>("POST", base, body);
    // Kept in the API's order: by date, then as written.
    notes.set((d) => ({ annotations: [...(d?.annotations ?? []), note].sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0)) }));
    setText("");
  });
  const remove = useAction(async (note: Annotation) => {
    await api("DELETE", `${base}/${encodeURIComponent(note.id)}`);
    notes.set((d) => ({ annotations: (d?.annotations ?? []).filter((n) => n.id !== note.id) }));
  });

  return (
    <Dialog title="Annotations" open={open} onClose={onClose}>
      <p class="hint">
        Notes on dates of the graph: a launch, a campaign, an outage. Each shows as a dashed line on its day{owner ? ", for everyone who sees this dashboard" : ""}.
      </p>
      {notes.error ? (
        <ErrorState error={notes.error} onRetry={notes.retry} />
      ) : inPeriod.length === 0 ? (
        <p data-testid="notes-empty">No notes in this period.</p>
      ) : (
        <ul class="note-list" aria-label="Notes in this period">
          {inPeriod.map((n) => (
            <li key={n.id} class="note-item" data-testid="note-item" data-date={n.date}>
              <span class="note-date">{formatRange(n.date, n.date)}</span>
              <span class="note-text">{n.text}</span>
              {owner && (
                <button type="button" class="danger small" disabled={remove.busy} onClick={() => void remove.run(n)} aria-label={`Delete the note “${n.text}” of ${formatRange(n.date, n.date)}`}>
                  Delete
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      <FormError error={remove.error} />
      {owner && (
        <>
          <form class="inline-form note-form" onSubmit={add.submit()}>
            <div>
              <label for={id + "date"}>Date</label>
              <input id={id + "date"} name="date" type="date" required min="2000-01-01" max="2099-12-31" value={date} onInput={(e) => setDate(e.currentTarget.value)} />
            </div>
            <div class="inline-field">
              <label for={id + "text"}>Note</label>
              <input
                id={id + "text"}
                name="text"
                required
                maxLength={MAX_NOTE_CHARS}
                autocomplete="off"
                placeholder="e.g. Launched the new pricing page"
                value={text}
                onInput={(e) => setText(e.currentTarget.value)}
              />
            </div>
            <button type="submit" class="primary" disabled={add.busy || !text.trim()}>
              {add.busy ? "Adding…" : "Add note"}
            </button>
          </form>
          <FormError error={add.error} />
        </>
      )}
    </Dialog>
  );
}
