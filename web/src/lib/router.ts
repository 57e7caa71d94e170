// Client-side routing on the History API: the path picks the page, the query string holds the
// page's state (lib/url-state.ts), so a link, a reload and the back button give the same view.
import { signal } from "@preact/signals";

/** The current location (path + search), updated on navigation and on back/forward. */
export const location = signal({ path: window.location.pathname, search: window.location.search });

function sync(): void {
  location.value = { path: window.location.pathname, search: window.location.search };
}
window.addEventListener("popstate", sync);

/** Goes to `url` (same origin), adding a history entry unless `replace`. */
export function navigate(url: string, replace = false): void {
  if (url === window.location.pathname + window.location.search) return;
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  sync();
  if (!replace) window.scrollTo(0, 0);
}

/**
 * Click handler for in-app links: plain left clicks navigate without a reload; clicks with a
 * modifier (new tab, download) are left to the browser.
 */
export function linkClick(e: MouseEvent): void {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = (e.currentTarget as HTMLElement).closest("a");
  if (!a || a.target || a.origin !== window.location.origin) return;
  e.preventDefault();
  navigate(a.pathname + a.search);
}

/** Matches `pattern` (`/sites/:id/settings`) against `path`; the named parts, decoded, or null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const p = pattern.split("/");
  const s = path.replace(/\/+$/, "").split("/");
  if (path === "/" && pattern === "/") return {};
  if (p.length !== s.length) return null;
  const out: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    const want = p[i]!;
    const got = s[i]!;
    if (want.startsWith(":")) {
      if (!got) return null;
      try {
        out[want.slice(1)] = decodeURIComponent(got);
      } catch {
        return null;
      }
    } else if (want !== got) return null;
  }
  return out;
}
