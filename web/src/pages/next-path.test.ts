import { test } from "node:test";
import assert from "node:assert/strict";
import { nextPath } from "./next-path";

test("same-site paths are kept", () => {
  assert.equal(nextPath("?next=%2Fsites%2Fabc"), "/sites/abc");
  assert.equal(nextPath("?next=" + encodeURIComponent("/sites/abc?period=7d&f=x#top")), "/sites/abc?period=7d&f=x#top");
  assert.equal(nextPath("?next=/account"), "/account");
});

test("anything else goes home", () => {
  assert.equal(nextPath(""), "/");
  assert.equal(nextPath("?next="), "/");
  assert.equal(nextPath("?next=https://evil.example/"), "/");
  assert.equal(nextPath("?next=//evil.example/x"), "/");
  assert.equal(nextPath("?next=" + encodeURIComponent("/\\evil.example")), "/");
  assert.equal(nextPath("?next=" + encodeURIComponent("/\t/evil.example")), "/");
  assert.equal(nextPath("?next=javascript:alert(1)"), "/");
  assert.equal(nextPath("?next=sites"), "/");
  assert.equal(nextPath("?next=/login"), "/");
  assert.equal(nextPath("?next=/signup%3Fnext%3D%2F"), "/");
});
