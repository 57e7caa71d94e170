//! `pixel.js`: the browser tracker. A Rust crate compiled to Wasm does the event logic; a small
//! hand-written loader (`js/pixel.src.js`) forwards browser events to it and sends what it builds.
//!
//! # Embedding
//!
//! ```html
//! <script>window.pixel=window.pixel||function(){(pixel.q=pixel.q||[]).push(arguments)}</script>
//! <script defer src="https://collector.example/pixel.js" data-key="mtr_…"></script>
//! ```
//!
//! The first line (optional) queues `pixel('signup', {plan: 'pro'})` calls made before the
//! tracker has loaded. Attributes: `data-api` (collector or edge base URL; default: where
//! `pixel.js` came from; events go to `<api>/api/event`), `data-hash` (hash routing: `#/route` is
//! part of the path), `data-outbound` (`outbound_click` with `url`), `data-downloads`
//! (`file_download` with `url`), `data-respect-dnt` (nothing is sent under DNT or GPC),
//! `data-allow-local` (count `localhost`, `file:` and `navigator.webdriver` browsers, which are
//! skipped otherwise; such visits are then sent as normal ones, without `b`). A site lets its own
//! users opt out with `window.pixelOptOut = true` (checked before every request; persisting the
//! choice is the site's business: the tracker keeps no cookie and no storage).
//!
//! # Events
//!
//! `pageview` on load and on back/forward-cache restore (the first one of a document carries
//! `document.referrer` and the UTM parameters, later ones neither); `path_change` when
//! `pushState`, `replaceState`, `popstate` or (hash mode) `hashchange` change the route, once per
//! navigation; `page_exit` before each `path_change` and when the page is hidden or left, with
//! `d` = engaged ms since the previous `page_exit` of the same view (paused while hidden, so the
//! sum over a view is its engaged time) and `s` = deepest scroll in percent; custom events with
//! props; `w` = `screen.width` on page views. Each event has a 16-character id, its time then
//! random characters (the edge and the collector deduplicate on it), and its time `t`; each
//! request its send time `st`. The
//! events one browser event produces travel in one request (`navigator.sendBeacon`, `text/plain`,
//! no preflight; `fetch` with `keepalive` when the beacon is refused).
//!
//! # Where the bytes go
//!
//! Measured by `scripts/bench-tracker-size.sh` (gzip -9); the JS peers (Umami, GoatCounter,
//! Plausible) are 1.4–2.5 KB gzipped, the budget is 10 KB.
//!
//! | part | raw | gzip |
//! |---|---:|---:|
//! | `pixel.js`, the loader (ES5, esbuild-minified) | 2.4 KB | 1.3 KB |
//! | `pixel.<hash>.wasm` | 10.0 KB | 5.3 KB |
//! | total | 12.5 KB | 6.5 KB |
//!
//! Inside the wasm (raw, from a build with names): the state machine and what is inlined into
//! the exports (`tracker.rs`, `engage.rs`: ~5.5 KB, of which `link` with the custom-event path is
//! 1.3 KB and `configure` with the local-page check 0.7 KB); URL handling (`url.rs`: 1.6 KB);
//! `core` (UTF-16 decoding, UTF-8 encoding, `memcmp`: 1.0 KB); the JSON writer (`json.rs`: 0.65
//! KB); data (download extensions, id alphabet, field names: 0.6 KB); types, imports and exports
//! (0.3 KB).
//!
//! How it stays that small:
//!
//! * No wasm-bindgen: its `--target web` glue alone is ~9.5 KB raw / 2.6 KB gzipped (measured in
//!   `../shared/TOOLCHAIN.md`), twice this whole loader, and passing strings through it needs an
//!   allocator in the wasm. Here the loader writes UTF-16 straight into a static buffer and the
//!   wasm calls four one-letter imports; the exports are plain `extern "C"` functions (`wasm.rs`).
//! * No allocator at all: every buffer is a fixed-size static (`json::Buf`), so no dlmalloc; the
//!   memory is a few pages (`-zstack-size=65536`) and never grows, so the loader's views of it stay
//!   valid.
//! * No `core::fmt`, no panics: numbers and JSON are written by hand, and std is rebuilt with
//!   `-Cpanic=immediate-abort` (a panic is a trap, which the loader's `try` swallows).
//! * `opt-level = "z"`, fat LTO, one codegen unit (`[profile.wasm-release]`), then
//!   `wasm-opt -Oz --converge` with bulk memory (`memory.copy` instead of a `memcpy` loop), names,
//!   producers and target features stripped.
//! * `contract` is a dependency for its constants only (field names, event names, limits): none
//!   of its serde or URL code is reachable, so LTO keeps none of it.
//!
//! # Modules
//!
//! * [`tracker`]: the state machine: which events a page's life produces (page view, deduplicated
//!   `path_change`, `page_exit` with engaged time and scroll depth, custom, outbound and download
//!   events), batched one request per browser event.
//! * [`engage`]: engaged time (paused while hidden, reported once per stretch) and scroll depth.
//! * [`url`]: URL parts, local pages, routes, URLs as sent (UTM only on the landing view), links.
//! * [`json`]: the fixed-capacity buffer the JSON is written into by hand.
//! * `wasm` (wasm32 only): raw exports and imports dispatching into [`tracker::Tracker`].
//!
//! Field and event names and every limit come from `contract` (`contract::wire::fields`,
//! `contract::limits`), the only place wire types are defined; the unit tests run every request
//! the tracker builds through the collector's own parser, `contract::wire::parse_body`.

pub mod engage;
pub mod json;
pub mod tracker;
pub mod url;
#[cfg(target_arch = "wasm32")]
mod wasm;
