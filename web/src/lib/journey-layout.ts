// Where the journeys drawing puts things: one column per depth, one box per node with a height
// proportional to its visitors, and one band per link from a node's right side to the next
// column's node, as wide as its visitors (a Sankey diagram's layout). Only geometry: every number
// drawn is the API's (JourneyResult). Pure, unit-tested (journey-layout.test.ts).
import type { JourneyLink, JourneyNode, JourneyResult } from "../api/types";

export interface LayoutOptions {
  /** Horizontal distance from one column's left edge to the next one's. */
  columnWidth: number;
  /** Width of a node's box (the rest of the column is where links run). */
  nodeWidth: number;
  /** Height the tallest column is scaled to (before minimum heights are applied). */
  height: number;
  /** Vertical space between two nodes of a column. */
  gap: number;
  /** Smallest box height, so that a label fits in a node with few visitors. */
  minNodeHeight: number;
}

export const DEFAULT_LAYOUT: LayoutOptions = { columnWidth: 230, nodeWidth: 160, height: 420, gap: 10, minNodeHeight: 30 };

export interface PlacedNode {
  /** Index in `result.nodes` (what links refer to). */
  index: number;
  node: JourneyNode;
  x: number;
  y: number;
  h: number;
}

export interface PlacedLink {
  link: JourneyLink;
  /** An SVG path from the source's right side to the target's left side, drawn as a stroke. */
  d: string;
  /** The stroke's width (at least 1, so that a thin link stays visible). */
  width: number;
}

export interface JourneyLayout {
  width: number;
  height: number;
  /** Each depth shown and its column's x. */
  columns: { depth: number; x: number }[];
  nodes: PlacedNode[];
  links: PlacedLink[];
}

/** Rounds to 2 decimals: stable SVG attributes, and comparable in tests. */
function r2(n: number): number {
  return Math.round(n * 100) / 100;
}

export function layoutJourney(result: Pick<JourneyResult, "nodes" | "links">, o: LayoutOptions = DEFAULT_LAYOUT): JourneyLayout {
  const depths = [...new Set(result.nodes.map((n) => n.depth))].sort((a, b) => a - b);
  const columnOf = new Map(depths.map((d, i) => [d, i]));
  // Each column's nodes, most visitors first (ties: the API's order).
  const byColumn = depths.map((d) =>
    result.nodes
      .map((node, index) => ({ node, index }))
      .filter((n) => n.node.depth === d)
      .sort((a, b) => b.node.visitors - a.node.visitors || a.index - b.index),
  );
  // One scale for every column, so equal visitors are equal heights anywhere.
  let scale = Infinity;
  for (const col of byColumn) {
    const total = col.reduce((s, n) => s + n.node.visitors, 0);
    const room = o.height - o.gap * Math.max(0, col.length - 1);
    if (total > 0) scale = Math.min(scale, Math.max(0, room) / total);
  }
  if (!Number.isFinite(scale)) scale = 0;

  const placed = new Map<number, PlacedNode>();
  let height = 0;
  byColumn.forEach((col, c) => {
    let y = 0;
    for (const { node, index } of col) {
      const h = Math.max(o.minNodeHeight, node.visitors * scale);
      placed.set(index, { index, node, x: r2(c * o.columnWidth), y: r2(y), h: r2(h) });
      y += h + o.gap;
    }
    height = Math.max(height, y - o.gap);
  });

  // Links between placed nodes of consecutive columns only.
  const links = result.links.filter((l) => {
    const a = placed.get(l.from);
    const b = placed.get(l.to);
    return a && b && columnOf.get(b.node.depth)! === columnOf.get(a.node.depth)! + 1;
  });
  // A node's bands are at most its height: distinct visitors of its links may add up to more
  // than its own (a visitor with two sessions that went two ways), so each side is squeezed.
  const sideFactor = (key: "from" | "to") => {
    const sums = new Map<number, number>();
    for (const l of links) sums.set(l[key], (sums.get(l[key]) ?? 0) + l.visitors * scale);
    return (i: number) => {
      const sum = sums.get(i) ?? 0;
      return sum > 0 ? Math.min(1, placed.get(i)!.h / sum) : 1;
    };
  };
  const outFactor = sideFactor("from");
  const inFactor = sideFactor("to");
  const width = new Map(links.map((l) => [l, l.visitors * scale * Math.min(outFactor(l.from), inFactor(l.to))]));

  // Bands leave a node in the order of their targets, and enter in the order of their sources,
  // so they do not cross at the node.
  const outOffset = new Map<JourneyLink, number>();
  const inOffset = new Map<JourneyLink, number>();
  const stack = (key: "from" | "to", other: "from" | "to", into: Map<JourneyLink, number>) => {
    const groups = new Map<number, JourneyLink[]>();
    for (const l of links) groups.set(l[key], [...(groups.get(l[key]) ?? []), l]);
    for (const group of groups.values()) {
      group.sort((a, b) => placed.get(a[other])!.y - placed.get(b[other])!.y);
      let off = 0;
      for (const l of group) {
        into.set(l, off);
        off += width.get(l)!;
      }
    }
  };
  stack("from", "to", outOffset);
  stack("to", "from", inOffset);

  const placedLinks = links.map((l) => {
    const a = placed.get(l.from)!;
    const b = placed.get(l.to)!;
    const w = width.get(l)!;
    const x0 = a.x + o.nodeWidth;
    const x1 = b.x;
    const y0 = a.y + outOffset.get(l)! + w / 2;
    const y1 = b.y + inOffset.get(l)! + w / 2;
    const mid = (x0 + x1) / 2;
    const d = `M${r2(x0)} ${r2(y0)}C${r2(mid)} ${r2(y0)} ${r2(mid)} ${r2(y1)} ${r2(x1)} ${r2(y1)}`;
    return { link: l, d, width: r2(Math.max(1, w)) };
  });

  return {
    width: depths.length ? (depths.length - 1) * o.columnWidth + o.nodeWidth : 0,
    height: r2(Math.max(0, height)),
    columns: depths.map((depth, i) => ({ depth, x: i * o.columnWidth })),
    nodes: [...placed.values()],
    links: placedLinks,
  };
}

/** Shortens a label to `max` characters, keeping its start and its end: `/blog/…/part-2`. */
export function truncateMiddle(s: string, max: number): string {
  if (s.length <= max) return s;
  if (max <= 1) return "…";
  const head = Math.ceil((max - 1) / 2);
  const tail = max - 1 - head;
  return s.slice(0, head) + "…" + (tail > 0 ? s.slice(s.length - tail) : "");
}
