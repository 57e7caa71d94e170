// The colour theme: "system" follows the OS (prefers-color-scheme, no attribute on <html>),
// "light" and "dark" set <html data-theme>. The choice is remembered in localStorage, which may
// be unavailable (a share page inside a sandboxed iframe): then it lasts until reload.
// Importing this module applies the remembered theme (Layout and the share page import it).
import { signal } from "@preact/signals";

export type Theme = "system" | "light" | "dark";

const KEY = "metrics.theme";
const ORDER: readonly Theme[] = ["system", "light", "dark"];

/** The theme after `t` in the toggle's cycle: system → light → dark → system. */
export function nextTheme(t: Theme): Theme {
  return ORDER[(ORDER.indexOf(t) + 1) % ORDER.length]!;
}

/** A stored value as a theme; anything unknown (or nothing) is "system". */
export function parseTheme(s: string | null | undefined): Theme {
  return s === "light" || s === "dark" ? s : "system";
}

function load(): Theme {
  try {
    return parseTheme(globalThis.localStorage?.getItem(KEY));
  } catch {
    return "system";
  }
}

function apply(t: Theme): void {
  if (typeof document === "undefined") return;
  const root = document.documentElement;
  if (t === "system") root.removeAttribute("data-theme");
  else root.setAttribute("data-theme", t);
}

/** The current choice (not what the system resolves it to). */
export const theme = signal<Theme>(load());
apply(theme.value);

export function setTheme(t: Theme): void {
  theme.value = t;
  apply(t);
  try {
    if (t === "system") globalThis.localStorage?.removeItem(KEY);
    else globalThis.localStorage?.setItem(KEY, t);
  } catch {
    // Storage refused (private mode, sandboxed iframe): the choice lasts until reload.
  }
}
