import { test } from "node:test";
import assert from "node:assert/strict";
import { sameFilters, sameName, segmentFilters } from "./segments";

test("a segment's filters: known operators only, copied", () => {
  const raw: [string, string, string[]][] = [["is", "country", ["DE"]], ["like", "page", ["/a"]], ["matches", "page", ["^/blog"]]];
  const got = segmentFilters(raw);
  assert.deepEqual(got, [["is", "country", ["DE"]], ["matches", "page", ["^/blog"]]]);
  got[0]![2].push("FR");
  assert.deepEqual(raw[0]![2], ["DE"], "the API's answer is not changed");
});

test("filters are the same whatever their order", () => {
  assert.ok(sameFilters([["is", "country", ["DE", "FR"]], ["is", "source", ["Google"]]], [["is", "source", ["Google"]], ["is", "country", ["FR", "DE"]]]));
  assert.ok(!sameFilters([["is", "country", ["DE"]]], [["is_not", "country", ["DE"]]]));
  assert.ok(!sameFilters([["is", "country", ["DE"]]], [["is", "country", ["DE"]], ["is", "source", ["Google"]]]));
  assert.ok(sameFilters([], []));
});

test("segment names compare trimmed and case-insensitive", () => {
  assert.ok(sameName(" Paid DE ", "paid de"));
  assert.ok(!sameName("Paid DE", "Paid FR"));
});
