import { test } from "node:test";
import assert from "node:assert/strict";
import { snippetCode } from "./snippet-code";

test("the snippet names the collector and the key", () => {
  assert.equal(
    snippetCode("https://stats.example.com", "mtr_abc123"),
    '<script defer src="https://stats.example.com/pixel.js" data-key="mtr_abc123"></script>',
  );
  assert.equal(snippetCode("http://127.0.0.1:5173", "<your key>"), '<script defer src="http://127.0.0.1:5173/pixel.js" data-key="<your key>"></script>');
});
