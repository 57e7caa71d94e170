import { test } from "node:test";
import assert from "node:assert/strict";
import { parseState } from "../lib/url-state";
import { drilledSource, listDef } from "./defs";

test("filtered to one source, the Sources tab drills down to its referrers", () => {
  const s = parseState("?f=is,source,Google");
  const def = listDef("sources", s)!;
  assert.equal(def.dimension, "referrer");
  assert.equal(def.column, "Referrers from Google");
  // Another tab, two sources, Direct, or an exclusion: the tab's own list.
  assert.equal(listDef("sources", parseState("?f=is,source,Google&sources=utm_medium"))!.dimension, "utm_medium");
  assert.equal(listDef("sources", parseState("?f=is,source,Google,Bing"))!.dimension, "source");
  assert.equal(listDef("sources", parseState("?f=is,source,"))!.dimension, "source");
  assert.equal(listDef("sources", parseState("?f=is_not,source,Google"))!.dimension, "source");
  assert.equal(listDef("sources", parseState(""))!.dimension, "source");
  assert.equal(drilledSource([["is", "source", ["Bing"]], ["is", "country", ["DE"]]]), "Bing");
});
