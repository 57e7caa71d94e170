// How every browser script here starts Debian's Chromium (tests, benchmark, screenshots).
import { chromium } from "playwright-core";

/**
 * The developers' guide's flags, plus one: a window of this Chromium (156) loads the omnibox
 * popup's WebUI (chrome://omnibox-popup.top-chrome, ~380 modules) in a renderer of its own, and
 * playwright opens a window per page. On this 2-core machine that renderer took ~300 ms of CPU
 * around every page load, beside the page being measured. No owner's browser pays that per
 * dashboard load, so the benchmark must not either.
 */
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-features=WebUIOmniboxPopup",
];

export function launchChromium() {
  return chromium.launch({ executablePath: process.env.CHROMIUM_BIN ?? "/usr/bin/chromium", args: CHROMIUM_ARGS });
}
