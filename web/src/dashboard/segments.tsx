// Saved segments (owners only): the Segments menu lists the site's named filter sets; choosing
// one puts its filters in the URL (so a segment's view is an ordinary link), the current filters
// can be saved under a name, and a segment is deleted after an "are you sure" in place. The
// list loads when the menu first opens, never with the dashboard's own requests.
import { useId, useState } from "preact/hooks";
import { api } from "../api/client";
import type { NewSegment, Segment, SegmentList } from "../api/types";
import { ErrorState, FormError } from "../components/states";
import { useAction, useLoad } from "../components/use-api";
import { linkClick } from "../lib/router";
import { sameFilters, sameName, segmentFilters } from "../lib/segments";
import { stateUrl, useDash } from "./ctx";
import { filterLabel } from "./dimensions";
import { Menu } from "./menu";

/** Longest segment name (the API's `Name`: 1 to 100 characters). */
const MAX_SEGMENT_NAME = 100;

export function SegmentsButton() {
  return (
    <Menu label="Segments" testid="segments-menu" align="right">
      {(close) => <SegmentsMenu close={close} />}
    </Menu>
  );
}

function SegmentsMenu({ close }: { close: () => void }) {
  const ctx = useDash();
  const { state } = ctx;
  const base = `/api/v1/projects/${encodeURIComponent(ctx.project.id)}/segments`;
  const list = useLoad<SegmentList>(base);
  const segments = list.data?.segments ?? [];
  const [confirming, setConfirming] = useState<string | null>(null);
  const remove = useAction(async (s: Segment) => {
    await api("DELETE", `${base}/${encodeURIComponent(s.id)}`);
    list.set((d) => ({ segments: (d?.segments ?? []).filter((x) => x.id !== s.id) }));
    setConfirming(null);
  });

  return (
    <div class="segments" data-testid="segments">
      {list.error ? (
        <ErrorState error={list.error} onRetry={list.retry} />
      ) : !list.data ? (
        <p class="hint" aria-busy="true">Loading segments…</p>
      ) : segments.length === 0 ? (
        <p class="hint" data-testid="segments-empty">
          No segments yet. Filter the dashboard, then save the filters here to come back to them in one click.
        </p>
      ) : (
        <ul class="menu-list segment-list" aria-label="Saved segments">
          {segments.map((s) => {
            const filters = segmentFilters(s.filters);
            const current = sameFilters(filters, state.filters);
            const summary = filters.map(filterLabel).join(", ");
            return (
              <li key={s.id} data-testid="segment-item" data-name={s.name}>
                {confirming === s.id ? (
                  <div class="segment-confirm" role="group" aria-label={`Delete the segment ${s.name}?`}>
                    <span>Delete “{s.name}”?</span>
                    <button type="button" class="danger small" disabled={remove.busy} onClick={() => void remove.run(s)}>
                      Delete
                    </button>
                    <button type="button" class="small" onClick={() => setConfirming(null)}>
                      Keep
                    </button>
                  </div>
                ) : (
                  <>
                    <a
                      href={stateUrl(state, { filters })}
                      aria-current={current ? "true" : undefined}
                      title={summary}
                      onClick={(e) => {
                        linkClick(e);
                        close();
                      }}
                    >
                      <span class="segment-name">{s.name}</span>
                      <span class="segment-summary hint">{summary}</span>
                    </a>
                    <button type="button" class="icon-button" aria-label={`Delete the segment ${s.name}`} title="Delete" onClick={() => setConfirming(s.id)}>
                      <svg viewBox="0 0 16 16" width="12" height="12" aria-hidden="true">
                        <path d="M4 4l8 8M12 4l-8 8" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" />
                      </svg>
                    </button>
                  </>
                )}
              </li>
            );
          })}
        </ul>
      )}
      <FormError error={remove.error} />
      {state.filters.length > 0 && list.data && (
        <SaveForm
          taken={(name) => segments.some((s) => sameName(s.name, name))}
          saved={segments.find((s) => sameFilters(segmentFilters(s.filters), state.filters)) ?? null}
          onSave={async (body) => {
            const created = await api<Segment>("POST", base, body);
            list.set((d) => ({ segments: [...(d?.segments ?? []), created] }));
          }}
        />
      )}
    </div>
  );
}

function SaveForm({
  taken, saved, onSave,
}: {
  taken: (name: string) => boolean;
  /** A segment with exactly the current filters, if there is one. */
  saved: Segment | null;
  onSave: (body: NewSegment) => Promise<void>;
}) {
  const { state } = useDash();
  const id = useId();
  const [name, setName] = useState("");
  const clash = name.trim() !== "" && taken(name);
  const save = useAction(async () => {
    await onSave({ name: name.trim(), filters: state.filters });
    setName("");
  });
  const n = state.filters.length;
  return (
    <form class="segment-form" onSubmit={save.submit()}>
      <label for={id}>
        Save {n === 1 ? "this filter" : `these ${n} filters`} as a segment
      </label>
      {saved && <p class="hint">Saved already as “{saved.name}”.</p>}
      <div class="segment-form-row">
        <input
          id={id}
          required
          maxLength={MAX_SEGMENT_NAME}
          autocomplete="off"
          placeholder="e.g. Paid traffic from Germany"
          value={name}
          aria-invalid={clash}
          aria-describedby={clash ? id + "clash" : undefined}
          onInput={(e) => setName(e.currentTarget.value)}
        />
        <button type="submit" class="primary" disabled={save.busy || !name.trim() || clash}>
          {save.busy ? "Saving…" : "Save"}
        </button>
      </div>
      {clash && (
        <p class="error-text" id={id + "clash"}>
          A segment has this name already.
        </p>
      )}
      <FormError error={save.error} />
    </form>
  );
}
