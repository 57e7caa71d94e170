// ThemeToggle: one button cycling the colour theme system → light → dark (lib/theme.ts); its
// icon shows the current choice and its accessible name says what a click does.
import type { JSX } from "preact";
import { nextTheme, setTheme, theme, type Theme } from "../lib/theme";

const NAME: Record<Theme, string> = { system: "System", light: "Light", dark: "Dark" };

const ICON: Record<Theme, JSX.Element> = {
  system: (
    <path d="M2.5 3.5h11v7h-11zM6 13.5h4M8 10.5v3" fill="none" stroke="currentColor" stroke-width="1.4" stroke-linecap="round" stroke-linejoin="round" />
  ),
  light: (
    <g fill="none" stroke="currentColor" stroke-width="1.4" stroke-linecap="round">
      <circle cx="8" cy="8" r="3" />
      <path d="M8 1.5v1.5M8 13v1.5M1.5 8H3M13 8h1.5M3.4 3.4l1 1M11.6 11.6l1 1M3.4 12.6l1-1M11.6 4.4l1-1" />
    </g>
  ),
  dark: <path d="M13.5 9.5A5.5 5.5 0 016.5 2.5a5.5 5.5 0 107 7z" fill="none" stroke="currentColor" stroke-width="1.4" stroke-linejoin="round" />,
};

export function ThemeToggle() {
  const t = theme.value;
  const label = `Theme: ${NAME[t]} (switch to ${NAME[nextTheme(t)].toLowerCase()})`;
  return (
    <button type="button" class="icon-button theme-toggle" onClick={() => setTheme(nextTheme(t))} aria-label={label} title={label}>
      <svg viewBox="0 0 16 16" width="16" height="16" aria-hidden="true">
        {ICON[t]}
      </svg>
    </button>
  );
}
