// Page states shared by every page: EmptyState (nothing yet, with what to do), ErrorState (a
// failed load, with Try again), FormError (an API error next to the form that caused it,
// role="alert"), Loading (a placeholder while a page loads), and useTitle (the tab's title).
import type { ComponentChildren } from "preact";
import { useEffect } from "preact/hooks";
import { ApiError } from "../api/client";
import "./states.css";

/** The text to show for a caught error: the API's own message, or a generic one. */
export function errorMessage(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  return "Something went wrong. Try again.";
}

/** True for the AbortError of a cancelled request (a page or dialog that went away). */
export function isAbort(e: unknown): boolean {
  return e instanceof DOMException && e.name === "AbortError";
}

export function EmptyState({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="empty-state card">
      <svg viewBox="0 0 48 48" width="48" height="48" aria-hidden="true">
        <rect x="6" y="10" width="36" height="28" rx="4" fill="none" stroke="currentColor" stroke-width="2" />
        <path d="M12 30l8-8 6 5 10-10" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" />
      </svg>
      <h2>{title}</h2>
      {children}
    </div>
  );
}

export function ErrorState({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  return (
    <div class="error-state card" role="alert">
      <h2>Could not load this page</h2>
      <p>{errorMessage(error)}</p>
      {onRetry && (
        <button type="button" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

/** An error under a form; renders nothing (but keeps the alert region) when there is none. */
export function FormError({ error, id }: { error: unknown; id?: string }) {
  return (
    <p class="form-error error-text" role="alert" id={id}>
      {error ? errorMessage(error) : ""}
    </p>
  );
}

export function Loading({ label = "Loading…" }: { label?: string }) {
  return (
    <div class="loading" aria-busy="true">
      <span class="hint">{label}</span>
    </div>
  );
}

/** Sets the tab's title to "`title` · Metrics" while the page is shown. */
export function useTitle(title: string | null): void {
  useEffect(() => {
    document.title = title ? `${title} · Metrics` : "Metrics";
  }, [title]);
}
