// Layout: the signed-in app's frame: a top bar (product name → /, theme toggle, Account, the
// owner's email, Sign out) over the page. Pages render their own <main>.
import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { api, ApiError } from "../api/client";
import type { User } from "../api/types";
import { linkClick, location, navigate } from "../lib/router";
import { errorMessage } from "./states";
import { ThemeToggle } from "./theme-toggle";
import "./layout.css";

/** The product's mark: a rising line in a rounded square (the favicon). */
export function Logo() {
  return (
    <svg class="logo" viewBox="0 0 32 32" width="24" height="24" aria-hidden="true">
      <rect width="32" height="32" rx="7" />
      <path d="M7 22l6-7 5 4 7-9" />
    </svg>
  );
}

export function Layout({ user, onSignedOut, children }: { user: User; onSignedOut: () => void; children: ComponentChildren }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const path = location.value.path;

  async function signOut() {
    setBusy(true);
    setError(null);
    try {
      await api("POST", "/api/v1/logout");
    } catch (e) {
      // 401: the session had already ended, which is what was asked.
      if (!(e instanceof ApiError && e.status === 401)) {
        setError("Sign out failed: " + errorMessage(e));
        setBusy(false);
        return;
      }
    }
    onSignedOut();
    navigate("/login");
  }

  return (
    <>
      <a class="skip-link" href="#content">
        Skip to content
      </a>
      <header class="topbar">
        <div class="topbar-inner container">
          <a class="brand" href="/" onClick={linkClick}>
            <Logo />
            <span>Metrics</span>
          </a>
          <nav class="topbar-nav" aria-label="Account">
            <ThemeToggle />
            <a href="/account" onClick={linkClick} class="topbar-link" aria-current={path === "/account" ? "page" : undefined}>
              Account
            </a>
            <span class="topbar-email" title={user.email}>
              {user.email}
            </span>
            <button type="button" class="topbar-signout" onClick={signOut} disabled={busy}>
              Sign out
            </button>
          </nav>
        </div>
        {error && (
          <p class="topbar-error container error-text" role="alert">
            {error}
          </p>
        )}
      </header>
      <div id="content" tabIndex={-1} class="content">
        {children}
      </div>
    </>
  );
}
