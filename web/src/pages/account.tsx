// Account (/account): change the password (other sessions are signed out), and API tokens:
// list, create (the token is shown once, with Copy), revoke with a confirm; with a note on how
// to use one.
import { useState } from "preact/hooks";
import { api, ApiError } from "../api/client";
import type { ApiToken, CreatedToken, User } from "../api/types";
import { ConfirmDialog } from "../components/confirm-dialog";
import { LabelForm, SecretOnce } from "../components/secret-form";
import { ErrorState, FormError, Loading, useTitle } from "../components/states";
import { useAction, useLoad } from "../components/use-api";
import { NewPassword } from "./login";
import { shortDate } from "../components/when";
import "./site-settings.css";

export function AccountPage({ user }: { user: User }) {
  useTitle("Account");
  return (
    <main class="container settings">
      <h1>Account</h1>
      <p class="hint account-email">
        Signed in as <strong>{user.email}</strong>
      </p>
      <PasswordSection email={user.email} />
      <TokensSection />
    </main>
  );
}

function PasswordSection({ email }: { email: string }) {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [confirm, setConfirm] = useState("");
  const [done, setDone] = useState(false);
  const { submit, busy, error } = useAction(async () => {
    setDone(false);
    if (next !== confirm) throw new ApiError(400, "mismatch", "The two passwords differ.", "new_password");
    await api("POST", "/api/v1/me/password", { current_password: current, new_password: next });
    setCurrent("");
    setNext("");
    setConfirm("");
    setDone(true);
  });

  const field = error instanceof ApiError ? error.field : undefined;
  return (
    <section id="password" class="settings-section card" aria-labelledby="password-title">
      <h2 id="password-title">Change password</h2>
      <form onSubmit={submit()} class="password-form">
        {/* For password managers: the account the new password belongs to. */}
        <input type="email" name="username" autocomplete="username" value={email} readOnly hidden />
        <label for="pw-current">Current password</label>
        <input
          id="pw-current"
          name="current_password"
          type="password"
          autocomplete="current-password"
          required
          aria-invalid={field === "current_password" || undefined}
          value={current}
          onInput={(e) => setCurrent(e.currentTarget.value)}
        />
        <NewPassword id="pw-new" label="New password" value={next} onInput={setNext} confirm={confirm} onConfirm={setConfirm} invalid={field === "new_password"} />
        <FormError error={error} />
        <div class="settings-actions">
          <button type="submit" class="primary" disabled={busy}>
            {busy ? "Changing…" : "Change password"}
          </button>
        </div>
        <p class="form-ok" role="status">
          {done ? "Password changed. Your other sessions were signed out; this one stays signed in." : ""}
        </p>
      </form>
    </section>
  );
}

function TokensSection() {
  const { data, error, retry, set } = useLoad<{ tokens: ApiToken[] }>("/api/v1/tokens");
  const tokens = data?.tokens ?? null;
  const setTokens = (f: (list: ApiToken[]) => ApiToken[]) => set((d) => ({ tokens: f(d?.tokens ?? []) }));
  const [created, setCreated] = useState<CreatedToken | null>(null);
  const [revoking, setRevoking] = useState<ApiToken | null>(null);

  const origin = window.location.origin;
  return (
    <section id="tokens" class="settings-section card" aria-labelledby="tokens-title">
      <h2 id="tokens-title">API tokens</h2>
      <p>
        A token lets a script query your sites' statistics without signing in: send it as <code>Authorization: Bearer …</code> with{" "}
        <code>POST /api/v1/query</code>. For example:
      </p>
      <pre class="token-example" tabIndex={0}>
        <code>{`curl -X POST ${origin}/api/v1/query \\
  -H "Authorization: Bearer mtt_…" \\
  -H "Content-Type: application/json" \\
  -d '{"project_id": "…", "metrics": ["visitors"], "date_range": "7d"}'`}</code>
      </pre>
      {error ? (
        <ErrorState error={error} onRetry={retry} />
      ) : !tokens ? (
        <Loading />
      ) : tokens.length === 0 ? (
        <p class="hint">No tokens yet.</p>
      ) : (
        <table class="tokens-table">
          <thead>
            <tr>
              <th scope="col">Label</th>
              <th scope="col">Created</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {tokens.map((t) => (
              <tr key={t.id} data-testid="token-row">
                <td>{t.label}</td>
                <td>{shortDate(t.created_at)}</td>
                <td class="cell-action">
                  <button type="button" class="danger small" onClick={() => setRevoking(t)} aria-label={`Revoke token ${t.label}`}>
                    Revoke
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {created && <SecretOnce what="Token" label={created.label} secret={created.token} testid="created-token" />}
      <LabelForm
        id="token-label"
        label="New token label"
        placeholder="e.g. Weekly report"
        button="Create token"
        onCreate={async (label) => {
          const t = await api<CreatedToken>("POST", "/api/v1/tokens", { label });
          setCreated(t);
          setTokens((list) => [{ id: t.id, label: t.label, created_at: t.created_at }, ...list]);
        }}
      />
      <ConfirmDialog
        open={revoking !== null}
        title="Revoke this token?"
        confirmLabel="Revoke token"
        onClose={() => setRevoking(null)}
        onConfirm={async () => {
          const t = revoking!;
          await api("DELETE", `/api/v1/tokens/${encodeURIComponent(t.id)}`);
          setTokens((list) => list.filter((x) => x.id !== t.id));
          if (created?.id === t.id) setCreated(null);
        }}
      >
        <p>
          Scripts using <strong>{revoking?.label}</strong> will be refused from now on.
        </p>
      </ConfirmDialog>
    </section>
  );
}
