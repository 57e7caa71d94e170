import { test } from "node:test";
import assert from "node:assert/strict";
import { keyAction } from "./shortcuts";

test("period keys", () => {
  assert.deepEqual(keyAction({ key: "d" }), { kind: "period", period: "day" });
  assert.deepEqual(keyAction({ key: "e" }), { kind: "period", period: "yesterday" });
  assert.deepEqual(keyAction({ key: "w" }), { kind: "period", period: "7d" });
  assert.deepEqual(keyAction({ key: "t" }), { kind: "period", period: "30d" });
  assert.deepEqual(keyAction({ key: "m" }), { kind: "period", period: "month" });
  assert.deepEqual(keyAction({ key: "l" }), { kind: "period", period: "last_month" });
  assert.deepEqual(keyAction({ key: "y" }), { kind: "period", period: "12mo" });
  assert.deepEqual(keyAction({ key: "a" }), { kind: "period", period: "all" });
  assert.deepEqual(keyAction({ key: "r" }), { kind: "period", period: "realtime" });
  assert.equal(keyAction({ key: "x" }), null);
  assert.equal(keyAction({ key: "D" }), null);
});

test("other keys", () => {
  assert.deepEqual(keyAction({ key: "c" }), { kind: "compare" });
  assert.deepEqual(keyAction({ key: "ArrowLeft" }), { kind: "move", dir: -1 });
  assert.deepEqual(keyAction({ key: "ArrowRight" }), { kind: "move", dir: 1 });
  assert.deepEqual(keyAction({ key: "Escape" }), { kind: "escape" });
  assert.deepEqual(keyAction({ key: "?" }), { kind: "help" });
});

test("ignored while typing or with a modifier", () => {
  for (const tagName of ["INPUT", "TEXTAREA", "SELECT", "input"]) {
    assert.equal(keyAction({ key: "d", target: { tagName } }), null, tagName);
    assert.equal(keyAction({ key: "ArrowLeft", target: { tagName } }), null, tagName);
  }
  assert.equal(keyAction({ key: "d", target: { tagName: "DIV", isContentEditable: true } }), null);
  assert.deepEqual(keyAction({ key: "d", target: { tagName: "BUTTON" } }), { kind: "period", period: "day" });
  assert.equal(keyAction({ key: "d", ctrlKey: true }), null);
  assert.equal(keyAction({ key: "d", metaKey: true }), null);
  assert.equal(keyAction({ key: "ArrowLeft", altKey: true }), null, "Alt+arrows are the browser's back/forward");
  assert.deepEqual(keyAction({ key: "Escape", target: { tagName: "INPUT" } }), { kind: "escape" }, "Esc still closes from a field");
});
