// Site settings, "Ingestion keys": the site's keys (label, preview, created, last used,
// status), a form creating one (the key is shown once, with Copy) and Revoke with a confirm.
import { useState } from "preact/hooks";
import { api } from "../api/client";
import type { CreatedKey, Key } from "../api/types";
import { ConfirmDialog } from "../components/confirm-dialog";
import { RelativeTime } from "../components/relative-time";
import { LabelForm, SecretOnce } from "../components/secret-form";
import { ErrorState, Loading } from "../components/states";
import { shortDate } from "../components/when";

export function KeysSection({
  projectId,
  keys,
  error,
  onRetry,
  onCreated,
  onRevoked,
}: {
  projectId: string;
  keys: Key[] | null;
  error: unknown;
  onRetry: () => void;
  onCreated: (k: Key) => void;
  onRevoked: (k: Key) => void;
}) {
  const [created, setCreated] = useState<CreatedKey | null>(null);
  const [revoking, setRevoking] = useState<Key | null>(null);
  const base = `/api/v1/projects/${encodeURIComponent(projectId)}/keys`;

  return (
    <section id="keys" class="settings-section card" aria-labelledby="keys-title">
      <h2 id="keys-title">Ingestion keys</h2>
      <p class="hint">The tracking snippet sends events with a key. Revoke a key to stop accepting events sent with it.</p>
      {error ? (
        <ErrorState error={error} onRetry={onRetry} />
      ) : !keys ? (
        <Loading />
      ) : keys.length === 0 ? (
        <p>No keys yet: create one below.</p>
      ) : (
        <div class="table-wrap" role="region" aria-label="Ingestion keys table" tabIndex={0}>
          <table class="keys-table">
            <thead>
              <tr>
                <th scope="col">Label</th>
                <th scope="col">Key</th>
                <th scope="col">Created</th>
                <th scope="col">Last used</th>
                <th scope="col">Status</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {keys.map((k) => (
                <tr key={k.id} data-testid="key-row" class={k.revoked_at ? "revoked" : undefined}>
                  <td>{k.label}</td>
                  <td>
                    <code>{k.preview}</code>
                  </td>
                  <td>{shortDate(k.created_at)}</td>
                  <td>
                    <RelativeTime time={k.last_used_at} />
                  </td>
                  <td>
                    {k.revoked_at ? (
                      <span class="badge bad" title={`Revoked ${shortDate(k.revoked_at)}`}>
                        Revoked
                      </span>
                    ) : (
                      <span class="badge good">Active</span>
                    )}
                  </td>
                  <td class="cell-action">
                    {!k.revoked_at && (
                      <button type="button" class="danger small" onClick={() => setRevoking(k)} aria-label={`Revoke key ${k.label}`}>
                        Revoke
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {created && <SecretOnce what="Key" label={created.label} secret={created.key} testid="created-key" />}
      <LabelForm
        id="key-label"
        label="New key label"
        placeholder="e.g. Production"
        button="Create key"
        onCreate={async (label) => {
          const k = await api<CreatedKey>("POST", base, { label });
          setCreated(k);
          onCreated(k);
        }}
      />
      <ConfirmDialog
        open={revoking !== null}
        title="Revoke this key?"
        confirmLabel="Revoke key"
        onClose={() => setRevoking(null)}
        onConfirm={async () => {
          const k = await api<Key>("DELETE", `${base}/${encodeURIComponent(revoking!.id)}`);
          onRevoked(k);
        }}
      >
        <p>
          Events sent with <strong>{revoking?.label}</strong> (<code>{revoking?.preview}</code>) will be refused from now on. Pages still
          using it stop being counted.
        </p>
      </ConfirmDialog>
    </section>
  );
}
