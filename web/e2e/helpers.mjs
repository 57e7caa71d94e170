// What the browser tests share: launching Debian's Chromium, watching for console errors, axe-core,
// screenshots and polling. Environment: CHROMIUM_BIN, SCREENSHOT_DIR (set by tests/tests/dashboard.rs).
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";

const here = path.dirname(new URL(import.meta.url).pathname);
const AXE = fs.readFileSync(path.join(here, "../node_modules/axe-core/axe.min.js"), "utf8");
const SHOTS = process.env.SCREENSHOT_DIR ?? "/tmp";
/** How long a panel may take to show its numbers here (the suite shares 2 cores with cargo). */
export const SHOW_TIMEOUT = 15_000;

export { launchChromium as launch } from "./chromium.mjs";

/**
 * Collects console errors and page errors of `p` into `errors`, except those `expected()` takes
 * (it returns true for an error a step causes on purpose, a wrong password).
 */
export function watch(p, errors, expected = () => false) {
  p.on("console", (m) => {
    if (m.type() !== "error" || expected(m.text())) return;
    errors.push(`${p.url()}: ${m.text()}`);
  });
  p.on("pageerror", (e) => errors.push(`${p.url()}: ${e.message}`));
}

export async function shot(p, name) {
  await p.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

/** Runs axe-core on the page: no serious or critical violation. */
export async function axe(p, name) {
  // Injected through the DevTools protocol, which the page's CSP does not govern.
  await p.evaluate(AXE);
  const result = await p.evaluate(() =>
    // eslint-disable-next-line no-undef
    axe.run(document, { resultTypes: ["violations"] }),
  );
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(
    bad.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`),
    [],
    `axe-core on ${name}`,
  );
}

/** Polls `check` until it holds, or throws after `timeout` ms. */
export async function waitFor(check, timeout = SHOW_TIMEOUT) {
  const end = Date.now() + timeout;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 100));
  }
}
