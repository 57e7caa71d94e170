// Site settings, "Share links": public read-only links to the dashboard (full URL with Copy,
// "Password protected" badge, created), a form creating one (label, optional password), and
// Delete with a confirm.
import { useState } from "preact/hooks";
import { api } from "../api/client";
import type { ShareLink } from "../api/types";
import { ConfirmDialog } from "../components/confirm-dialog";
import { CopyField } from "../components/copy-button";
import { ErrorState, FormError, Loading } from "../components/states";
import { useAction, useLoad } from "../components/use-api";
import { shortDate } from "../components/when";

export function SharesSection({ projectId }: { projectId: string }) {
  const base = `/api/v1/projects/${encodeURIComponent(projectId)}/shares`;
  const { data, error, retry, set } = useLoad<{ shares: ShareLink[] }>(base);
  const shares = data?.shares ?? null;
  const setShares = (f: (list: ShareLink[]) => ShareLink[]) => set((d) => ({ shares: f(d?.shares ?? []) }));
  const [label, setLabel] = useState("");
  const [password, setPassword] = useState("");
  const [deleting, setDeleting] = useState<ShareLink | null>(null);
  const { submit, busy, error: formError } = useAction(async () => {
    const body: { label: string; password?: string } = { label: label.trim() };
    if (password) body.password = password;
    const s = await api<ShareLink>("POST", base, body);
    setShares((list) => [s, ...list]);
    setLabel("");
    setPassword("");
  });

  return (
    <section id="shares" class="settings-section card" aria-labelledby="shares-title">
      <h2 id="shares-title">Share links</h2>
      <p class="hint">Anyone with a link sees this site's dashboard, read-only, without signing in. It can be embedded in an iframe.</p>
      {error ? (
        <ErrorState error={error} onRetry={retry} />
      ) : !shares ? (
        <Loading />
      ) : shares.length === 0 ? (
        <p>No share links yet.</p>
      ) : (
        <ul class="share-list">
          {shares.map((s) => (
            <li key={s.id} class="share-item" data-testid="share-link">
              <div class="share-head">
                <strong class="share-label">{s.label}</strong>
                {s.has_password && <span class="badge warn">Password protected</span>}
                <span class="hint">Created {shortDate(s.created_at)}</span>
                <button type="button" class="danger small share-delete" onClick={() => setDeleting(s)} aria-label={`Delete share link ${s.label}`}>
                  Delete
                </button>
              </div>
              <CopyField text={window.location.origin + s.path} testid="share-url" label="Copy link" />
            </li>
          ))}
        </ul>
      )}
      <form class="inline-form" onSubmit={submit()}>
        <div class="inline-field">
          <label for="share-label">Label</label>
          <input id="share-label" name="label" required maxLength={100} placeholder="e.g. Team" value={label} onInput={(e) => setLabel(e.currentTarget.value)} />
        </div>
        <div class="inline-field">
          <label for="share-password">Password (optional)</label>
          <input
            id="share-password"
            name="share-password"
            type="password"
            autocomplete="new-password"
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </div>
        <button type="submit" disabled={busy}>
          {busy ? "Creating…" : "Create link"}
        </button>
      </form>
      <FormError error={formError} />
      <ConfirmDialog
        open={deleting !== null}
        title="Delete this share link?"
        confirmLabel="Delete link"
        onClose={() => setDeleting(null)}
        onConfirm={async () => {
          const s = deleting!;
          await api("DELETE", `${base}/${encodeURIComponent(s.id)}`);
          setShares((list) => list.filter((x) => x.id !== s.id));
        }}
      >
        <p>
          <strong>{deleting?.label}</strong> stops working at once, also where it is embedded.
        </p>
      </ConfirmDialog>
    </section>
  );
}
