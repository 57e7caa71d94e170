import { test } from "node:test";
import assert from "node:assert/strict";
import type { Project } from "../api/types";
import { MAX_REMEMBERED_SITES, parseSites, parseUser, sameSite, withSite } from "./remembered";

const site = (id: string, timezone = "UTC"): Project => ({ id, name: "Site " + id, domain: id + ".example", timezone, created_at: "2026-11-01T00:00:00Z" });

test("stored sites parse; what is not a site is dropped, garbage gives none", () => {
  const a = site("a");
  assert.deepEqual(parseSites(JSON.stringify([a, { id: "b" }, null, "x"])), [a]);
  assert.deepEqual(parseSites(JSON.stringify([{ ...a, domain: null }])), [{ ...a, domain: null }]);
  assert.deepEqual(parseSites("{not json"), []);
  assert.deepEqual(parseSites(JSON.stringify({ a })), []);
  assert.deepEqual(parseSites(null), []);
});

test("a remembered site goes first, replacing its older copy, and the list is bounded", () => {
  const sites = [site("a"), site("b")];
  assert.deepEqual(withSite(sites, site("b", "Europe/Paris")).map((s) => [s.id, s.timezone]), [
    ["b", "Europe/Paris"],
    ["a", "UTC"],
  ]);
  let many: Project[] = [];
  for (let i = 0; i < MAX_REMEMBERED_SITES + 5; i++) many = withSite(many, site(String(i)));
  assert.equal(many.length, MAX_REMEMBERED_SITES);
  assert.equal(many[0]!.id, String(MAX_REMEMBERED_SITES + 4));
});

test("the same answer is recognised, any changed field is not", () => {
  assert.ok(sameSite(site("a"), site("a")));
  assert.ok(!sameSite(site("a"), site("a", "Asia/Tokyo")));
  assert.ok(!sameSite(site("a"), { ...site("a"), name: "Renamed" }));
  assert.ok(!sameSite(null, site("a")));
});

test("a stored user parses to its fields only; anything else is no user", () => {
  const u = { id: "u1", email: "a@example.com", created_at: "2026-11-01T00:00:00Z" };
  assert.deepEqual(parseUser(JSON.stringify({ ...u, extra: 1 })), u);
  assert.equal(parseUser(JSON.stringify({ id: "u1" })), null);
  assert.equal(parseUser("null"), null);
  assert.equal(parseUser("{"), null);
  assert.equal(parseUser(null), null);
});
