// What this browser remembers of the owner signed in last: who they are and the sites they
// opened lately, in localStorage, so that a returning owner's page renders at once and a
// dashboard's queries leave while the app starts instead of after GET /api/v1/session and
// GET /api/v1/projects/{id}. Only a head start: the session and the site are asked for in the
// same moment and their answers win (signed out: the sign-in page; a changed time zone re-runs
// the queries; a site gone or no longer yours: "Site not found"). Forgotten on sign-out and
// whenever the session turns out to be signed out or someone else's (lib/session.ts), so one
// owner's sites never show for another. localStorage may be unavailable (a sandboxed iframe):
// then nothing is kept.
import type { Project, User } from "../api/types";

const USER_KEY = "metrics.user";
const SITES_KEY = "metrics.sites";
/** How many sites are remembered: the most recently opened win. */
export const MAX_REMEMBERED_SITES = 20;

function isUser(v: unknown): v is User {
  if (!v || typeof v !== "object") return false;
  const u = v as Record<string, unknown>;
  return typeof u.id === "string" && typeof u.email === "string" && typeof u.created_at === "string";
}

function isProject(v: unknown): v is Project {
  if (!v || typeof v !== "object") return false;
  const p = v as Record<string, unknown>;
  return (
    typeof p.id === "string" &&
    typeof p.name === "string" &&
    (p.domain === null || typeof p.domain === "string") &&
    typeof p.timezone === "string" &&
    typeof p.created_at === "string"
  );
}

function parse(text: string | null | undefined): unknown {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** A stored user, or null when there is none or it does not parse. */
export function parseUser(text: string | null | undefined): User | null {
  const v = parse(text);
  return isUser(v) ? { id: v.id, email: v.email, created_at: v.created_at } : null;
}

/** The stored sites, most recent first; whatever does not parse is dropped. */
export function parseSites(text: string | null | undefined): Project[] {
  const v = parse(text);
  return Array.isArray(v) ? v.filter(isProject).slice(0, MAX_REMEMBERED_SITES) : [];
}

/** `sites` with `p` first (replacing its older copy), at most MAX_REMEMBERED_SITES long. */
export function withSite(sites: Project[], p: Project): Project[] {
  return [p, ...sites.filter((s) => s.id !== p.id)].slice(0, MAX_REMEMBERED_SITES);
}

/** Whether two answers for a site are the same (so the page keeps its objects and queries). */
export function sameSite(a: Project | null, b: Project | null): boolean {
  return !!a && !!b && a.id === b.id && a.name === b.name && a.domain === b.domain && a.timezone === b.timezone && a.created_at === b.created_at;
}

function read(key: string): string | null {
  try {
    return globalThis.localStorage?.getItem(key) ?? null;
  } catch {
    return null;
  }
}

function write(key: string, value: string | null): void {
  try {
    if (value === null) globalThis.localStorage?.removeItem(key);
    else globalThis.localStorage?.setItem(key, value);
  } catch {
    // Storage full or refused: the next visit asks the API, as a first visit does.
  }
}

export function rememberedUser(): User | null {
  return parseUser(read(USER_KEY));
}

/** Remembers `user` as the owner signed in here; another owner than the one before forgets the sites. */
export function rememberUser(user: User): void {
  if (rememberedUser()?.id !== user.id) write(SITES_KEY, null);
  write(USER_KEY, JSON.stringify(user));
}

export function rememberedSite(id: string): Project | null {
  return parseSites(read(SITES_KEY)).find((p) => p.id === id) ?? null;
}

export function rememberSite(p: Project): void {
  write(SITES_KEY, JSON.stringify(withSite(parseSites(read(SITES_KEY)), p)));
}

export function forgetSite(id: string): void {
  write(SITES_KEY, JSON.stringify(parseSites(read(SITES_KEY)).filter((p) => p.id !== id)));
}

/** Signed out: nothing of the owner stays. */
export function forgetAll(): void {
  write(USER_KEY, null);
  write(SITES_KEY, null);
}
