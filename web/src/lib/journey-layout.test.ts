import { test } from "node:test";
import assert from "node:assert/strict";
import type { JourneyLink, JourneyNode } from "../api/types";
import { layoutJourney, truncateMiddle, type LayoutOptions } from "./journey-layout";

const O: LayoutOptions = { columnWidth: 200, nodeWidth: 100, height: 100, gap: 10, minNodeHeight: 5 };
const node = (depth: number, value: string, visitors: number): JourneyNode => ({ depth, kind: "page", value, visitors });

test("one column per depth, boxes proportional to visitors, most visitors on top", () => {
  const nodes = [node(1, "/", 90), node(2, "/b", 30), node(2, "/a", 60)];
  const links: JourneyLink[] = [
    { from: 0, to: 2, visitors: 60 },
    { from: 0, to: 1, visitors: 30 },
  ];
  const l = layoutJourney({ nodes, links }, O);
  assert.deepEqual(l.columns, [{ depth: 1, x: 0 }, { depth: 2, x: 200 }]);
  assert.equal(l.width, 300);
  const at = (i: number) => l.nodes.find((n) => n.index === i)!;
  // Column 2 needs a 10 px gap: scale = (100 - 10) / 90 = 1 px per visitor.
  assert.deepEqual([at(0).x, at(0).y, at(0).h], [0, 0, 90]);
  assert.deepEqual([at(2).x, at(2).y, at(2).h], [200, 0, 60], "/a has more visitors: on top");
  assert.deepEqual([at(1).y, at(1).h], [70, 30]);
  assert.equal(l.height, 100);
  // Bands: as wide as their visitors, leaving in the order of their targets.
  const to = (i: number) => l.links.find((x) => x.link.to === i)!;
  assert.equal(to(2).width, 60);
  assert.equal(to(2).d, "M100 30C150 30 150 30 200 30");
  assert.equal(to(1).width, 30);
  assert.equal(to(1).d, "M100 75C150 75 150 85 200 85");
});

test("bands never overflow a node, even when distinct visitors add up to more", () => {
  const nodes = [node(1, "/", 10), node(2, "/a", 8), node(2, "/b", 8)];
  const links: JourneyLink[] = [
    { from: 0, to: 1, visitors: 8 },
    { from: 0, to: 2, visitors: 8 },
  ];
  const l = layoutJourney({ nodes, links }, { ...O, height: 170 });
  const src = l.nodes.find((n) => n.index === 0)!;
  const total = l.links.reduce((s, x) => s + x.width, 0);
  assert.ok(total <= src.h + 0.01, `${total} <= ${src.h}`);
});

test("small nodes keep a minimum height; links to nodes not shown and across columns are dropped", () => {
  const nodes = [node(1, "/", 1000), node(2, "/x", 1), node(3, "/y", 1)];
  const links: JourneyLink[] = [
    { from: 0, to: 1, visitors: 1 },
    { from: 0, to: 2, visitors: 1 },
    { from: 0, to: 9, visitors: 1 },
  ];
  const l = layoutJourney({ nodes, links }, O);
  assert.equal(l.nodes.find((n) => n.index === 1)!.h, 5);
  assert.equal(l.links.length, 1);
  assert.equal(l.links[0]!.width, 1, "a thin band is still drawn");
});

test("an empty answer lays out to nothing", () => {
  const l = layoutJourney({ nodes: [], links: [] }, O);
  assert.deepEqual(l, { width: 0, height: 0, columns: [], nodes: [], links: [] });
});

test("labels are shortened in the middle", () => {
  assert.equal(truncateMiddle("/short", 10), "/short");
  assert.equal(truncateMiddle("/blog/a-very-long-post-name", 11), "/blog…-name");
  assert.equal(truncateMiddle("/blog/a-very-long-post-name", 11).length, 11);
  assert.equal(truncateMiddle("abc", 1), "…");
});
