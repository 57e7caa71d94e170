// The one way the app talks to the collector: its public HTTP API (`/api/v1/...`), same origin,
// the login cookie (HttpOnly, set by POST /api/v1/login) carried by the browser. Every error the
// API gives is JSON `{error, code, field?}` (README, docs/query-api.md): it becomes an ApiError
// whose message can be shown as it is.
import type { QueryRequest, QueryResult } from "./types";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** Called when an API call answers 401 (signed out elsewhere, session expired). */
let onUnauthorized: () => void = () => {};
export function setUnauthorizedHandler(f: () => void): void {
  onUnauthorized = f;
}

export async function api<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const init: RequestInit = { method, credentials: "same-origin", headers: { accept: "application/json" } };
  if (signal) init.signal = signal;
  if (body !== undefined) {
    init.headers = { accept: "application/json", "content-type": "application/json" };
    init.body = JSON.stringify(body);
  }
  let res: Response;
  try {
    res = await fetch(path, init);
  } catch (e) {
    if (e instanceof DOMException && e.name === "AbortError") throw e;
    throw new ApiError(0, "network", "The collector cannot be reached. Check your connection and try again.");
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!res.ok) {
    const e = (json ?? {}) as { error?: string; code?: string; field?: string };
    // A 401 means "signed out" except where it means "wrong password" (sign-in, a share link).
    if (res.status === 401 && !path.startsWith("/api/v1/login") && !path.startsWith("/api/v1/share/")) onUnauthorized();
    throw new ApiError(res.status, e.code ?? "http_" + res.status, e.error ?? `${res.status} ${res.statusText}`, e.field);
  }
  return json as T;
}

/**
 * Where dashboard queries go: the owner's own query API, or a public share link's
 * (read-only, scoped by the server to the link's site).
 */
export type QueryScope = { kind: "owner" } | { kind: "share"; slug: string };

export function queryPath(scope: QueryScope): string {
  return scope.kind === "owner" ? "/api/v1/query" : `/api/v1/share/${encodeURIComponent(scope.slug)}/query`;
}

export function query(scope: QueryScope, body: QueryRequest, signal?: AbortSignal): Promise<QueryResult> {
  return api<QueryResult>("POST", queryPath(scope), body, signal);
}

/** The same query as CSV text (`Accept: text/csv`), for the export button. */
export async function queryCsv(scope: QueryScope, body: QueryRequest): Promise<string> {
  const res = await fetch(queryPath(scope), {
    method: "POST",
    credentials: "same-origin",
    headers: { accept: "text/csv", "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!res.ok) {
    const e = (await res.json().catch(() => ({}))) as { error?: string; code?: string };
    throw new ApiError(res.status, e.code ?? "http_" + res.status, e.error ?? res.statusText);
  }
  return res.text();
}
