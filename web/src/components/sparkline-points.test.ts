import { test } from "node:test";
import assert from "node:assert/strict";
import { sparklinePoints } from "./sparkline-points";

test("scales to the box, largest value at the top", () => {
  assert.equal(sparklinePoints([0, 5, 10], 100, 22, 1), "0,21 50,11 100,1");
});

test("nulls are zeros; all zeros lie flat at the bottom", () => {
  assert.equal(sparklinePoints([null, 4], 10, 10, 0), "0,10 10,0");
  assert.equal(sparklinePoints([0, 0, 0], 10, 10, 1), "0,9 5,9 10,9");
});

test("one value or none", () => {
  assert.equal(sparklinePoints([7], 60, 20, 2), "0,2 60,2");
  assert.equal(sparklinePoints([], 60, 20), "");
});

test("fractions are rounded to 2 decimals", () => {
  assert.equal(sparklinePoints([1, 2, 3, 3], 100, 10, 0), "0,6.67 33.33,3.33 66.67,0 100,0");
});
