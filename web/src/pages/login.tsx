// The signed-out pages: LoginPage (/login) and SignupPage (/signup; the link to it only when
// GET /api/v1/session said sign-up is open, lib/session.ts). On success they hand the
// user to the app (onSignedIn) and go to the `?next=` path when it is one of this site's, else /.
import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { api, ApiError } from "../api/client";
import type { SignUpAccepted, User } from "../api/types";
import { allowSignup } from "../lib/session";
import { linkClick, location, navigate } from "../lib/router";
import { Logo } from "../components/layout";
import { FormError, useTitle } from "../components/states";
import { ThemeToggle } from "../components/theme-toggle";
import { useAction } from "../components/use-api";
import { nextPath } from "./next-path";
import "./login.css";

/** The centred card of the signed-out pages (also the share page's password and "not found"). */
export function AuthFrame({ title, children }: { title: string; children: ComponentChildren }) {
  return (
    <main class="auth">
      <div class="auth-theme">
        <ThemeToggle />
      </div>
      <div class="auth-card card">
        <div class="auth-brand">
          <Logo />
          <span>Metrics</span>
        </div>
        <h1>{title}</h1>
        {children}
      </div>
    </main>
  );
}

/** Keeps `?next=` when moving between the sign-in and sign-up pages. */
function withNext(path: string): string {
  const next = new URLSearchParams(location.value.search).get("next");
  return next ? `${path}?next=${encodeURIComponent(next)}` : path;
}

export function LoginPage({ onSignedIn }: { onSignedIn: (u: User) => void }) {
  useTitle("Sign in");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const { submit, busy, error } = useAction(async () => {
    const user = await api<User>("POST", "/api/v1/login", { email: email.trim(), password });
    onSignedIn(user);
    navigate(nextPath(location.value.search), true);
  });

  return (
    <AuthFrame title="Sign in">
      <form onSubmit={submit()}>
        <label for="login-email">Email</label>
        <input
          id="login-email"
          name="email"
          type="email"
          autocomplete="username"
          required
          value={email}
          onInput={(e) => setEmail(e.currentTarget.value)}
        />
        <label for="login-password">Password</label>
        <input
          id="login-password"
          name="password"
          type="password"
          autocomplete="current-password"
          required
          value={password}
          onInput={(e) => setPassword(e.currentTarget.value)}
        />
        <FormError error={error} id="login-error" />
        <button type="submit" class="primary auth-submit" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
      {allowSignup.value && (
        <p class="auth-switch">
          No account yet?{" "}
          <a href={withNext("/signup")} onClick={linkClick}>
            Create one
          </a>
        </p>
      )}
    </AuthFrame>
  );
}

export function SignupPage({ onSignedIn }: { onSignedIn: (u: User) => void }) {
  useTitle("Create an account");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [confirm, setConfirm] = useState("");
  const { submit, busy, error } = useAction(async () => {
    if (password !== confirm) throw new ApiError(400, "mismatch", "The two passwords differ.", "password");
    const body = { email: email.trim(), password };
    // The server answers the same for a new and a taken email (it does not tell which emails
    // have accounts), so a taken one shows here, when its own password does not match.
    await api<SignUpAccepted>("POST", "/api/v1/users", body);
    const user = await api<User>("POST", "/api/v1/login", body).catch((e: unknown) => {
      if (e instanceof ApiError && e.status === 401) {
        throw new ApiError(401, e.code, "This email may already have an account: sign in with its password.", "email");
      }
      throw e;
    });
    onSignedIn(user);
    navigate(nextPath(location.value.search), true);
  });

  if (!allowSignup.value) {
    return (
      <AuthFrame title="Create an account">
        <p>Sign-up is closed on this server. Ask its administrator for an account.</p>
        <p class="auth-switch">
          <a href={withNext("/login")} onClick={linkClick}>
            Sign in
          </a>
        </p>
      </AuthFrame>
    );
  }

  const field = error instanceof ApiError ? error.field : undefined;
  return (
    <AuthFrame title="Create an account">
      <form onSubmit={submit()}>
        <label for="signup-email">Email</label>
        <input
          id="signup-email"
          name="email"
          type="email"
          autocomplete="username"
          required
          aria-invalid={field === "email" || undefined}
          value={email}
          onInput={(e) => setEmail(e.currentTarget.value)}
        />
        <NewPassword id="signup" label="Password" value={password} onInput={setPassword} confirm={confirm} onConfirm={setConfirm} invalid={field === "password"} />
        <FormError error={error} />
        <button type="submit" class="primary auth-submit" disabled={busy}>
          {busy ? "Creating your account…" : "Create account"}
        </button>
      </form>
      <p class="auth-switch">
        Already have an account?{" "}
        <a href={withNext("/login")} onClick={linkClick}>
          Sign in
        </a>
      </p>
    </AuthFrame>
  );
}

/**
 * A new password and its confirmation (sign-up, change of password): at least 10 characters,
 * and a note while the two differ.
 */
export function NewPassword(p: {
  id: string;
  label: string;
  value: string;
  onInput: (v: string) => void;
  confirm: string;
  onConfirm: (v: string) => void;
  invalid: boolean;
}) {
  const mismatch = p.confirm !== "" && p.confirm !== p.value;
  return (
    <>
      <label for={`${p.id}-password`}>{p.label}</label>
      <input
        id={`${p.id}-password`}
        name="new-password"
        type="password"
        autocomplete="new-password"
        required
        minLength={10}
        aria-describedby={`${p.id}-hint`}
        aria-invalid={p.invalid || undefined}
        value={p.value}
        onInput={(e) => p.onInput(e.currentTarget.value)}
      />
      <p class="hint" id={`${p.id}-hint`}>
        At least 10 characters.
      </p>
      <label for={`${p.id}-confirm`}>Confirm {p.label.toLowerCase()}</label>
      <input
        id={`${p.id}-confirm`}
        name="confirm-password"
        type="password"
        autocomplete="new-password"
        required
        aria-invalid={mismatch || undefined}
        aria-describedby={mismatch ? `${p.id}-mismatch` : undefined}
        value={p.confirm}
        onInput={(e) => p.onConfirm(e.currentTarget.value)}
      />
      {mismatch && (
        <p class="hint error-text" id={`${p.id}-mismatch`}>
          The two passwords differ.
        </p>
      )}
    </>
  );
}
