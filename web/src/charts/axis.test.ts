import { test } from "node:test";
import assert from "node:assert/strict";
import { axisValue, xTicks, yScale } from "./axis";

test("x ticks leave room for their labels", () => {
  assert.deepEqual(xTicks(0, 600), []);
  assert.deepEqual(xTicks(5, 640), [0, 1, 2, 3, 4]);
  assert.deepEqual(xTicks(30, 320), [0, 6, 12, 18, 24]);
  assert.equal(xTicks(30, 1200).length, 15);
  assert.deepEqual(xTicks(3, 10), [0, 3].filter((i) => i < 3));
});

test("y scale", () => {
  assert.deepEqual(yScale(0, "visitors"), { top: 4, ticks: [0, 1, 2, 3, 4] });
  assert.deepEqual(yScale(2, "visitors").top, 4);
  assert.deepEqual(yScale(95, "visitors"), { top: 100, ticks: [0, 25, 50, 75, 100] });
  assert.deepEqual(yScale(134, "visitors").ticks, [0, 50, 100, 150, 200]);
  assert.equal(yScale(1234, "visitors").top, 2000);
  assert.equal(yScale(99, "bounce_rate").top, 100);
  assert.equal(yScale(47, "bounce_rate").top, 80);
  assert.equal(yScale(30, "bounce_rate").top, 40);
  assert.deepEqual(yScale(2.46, "views_per_visit").ticks, [0, 1, 2, 3, 4]);
  assert.deepEqual(yScale(0.5, "views_per_visit").ticks, [0, 0.2, 0.4, 0.6, 0.8]);
  assert.equal(axisValue("visitors", 12500), "12.5k");
  assert.equal(axisValue("bounce_rate", 50), "50%");
  assert.equal(axisValue("visit_duration", 90), "1m 30s");
  assert.equal(axisValue("views_per_visit", 2.5), "2.5");
});
