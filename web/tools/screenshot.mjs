// Screenshots of the running dashboard, for looking at what people see (not a test):
//
//   node tools/screenshot.mjs URL OUT.png [--width 1280] [--dark] [--email E --password P]
//
// With --email/--password it signs in through the form first (at URL's origin + /login).
import { launchChromium } from "../e2e/chromium.mjs";

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const [url, out] = args;
if (!url || !out) {
  console.error("usage: node tools/screenshot.mjs URL OUT.png [--width 1280] [--dark] [--email E --password P]");
  process.exit(2);
}
const browser = await launchChromium();
const width = Number(opt("--width", "1280"));
const context = await browser.newContext({
  viewport: { width, height: 900 },
  colorScheme: args.includes("--dark") ? "dark" : "light",
});
const page = await context.newPage();
page.on("console", (m) => m.type() === "error" && console.error("console error:", m.text()));
page.on("pageerror", (e) => console.error("page error:", e.message));
const email = opt("--email");
if (email) {
  await page.goto(new URL("/login", url).href);
  await page.fill('input[name="email"]', email);
  await page.fill('input[name="password"]', opt("--password", ""));
  await page.press('input[name="password"]', "Enter");
  await page.waitForURL((u) => !u.pathname.startsWith("/login"));
}
await page.goto(url);
await page.waitForLoadState("networkidle");
await page.waitForTimeout(300);
await page.screenshot({ path: out, fullPage: true });
await browser.close();
console.log("wrote", out);
