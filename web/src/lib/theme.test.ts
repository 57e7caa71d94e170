import { test } from "node:test";
import assert from "node:assert/strict";
import { nextTheme, parseTheme } from "./theme";

test("the toggle cycles system → light → dark → system", () => {
  assert.equal(nextTheme("system"), "light");
  assert.equal(nextTheme("light"), "dark");
  assert.equal(nextTheme("dark"), "system");
});

test("stored values parse to a theme, unknown ones to system", () => {
  assert.equal(parseTheme("dark"), "dark");
  assert.equal(parseTheme("light"), "light");
  assert.equal(parseTheme("system"), "system");
  assert.equal(parseTheme("blue"), "system");
  assert.equal(parseTheme(null), "system");
  assert.equal(parseTheme(undefined), "system");
});
