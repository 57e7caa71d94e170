//! The wasm entry points: raw exports and imports, no wasm-bindgen (see the crate docs for why).
//! They only move strings in and out and dispatch into [`Tracker`].
//!
//! Strings come in as UTF-16 code units that the loader writes into [`INPUT`] (`x.i()` gives its
//! address): each export takes the end offsets of the one or two strings it reads, the second
//! starting where the first ends. Names are one letter because the loader spells each once.
//!
//! | export | arguments | does |
//! |---|---|---|
//! | `i` | | address of the input buffer (`u16` × [`INPUT_CAP`]) |
//! | `c` | key end, href end, flags | [`Tracker::configure`]; 0 = do not track |
//! | `v` | href end, referrer end, screen width, view flags | [`Tracker::pageview`] |
//! | `n` | href end | [`Tracker::navigate`] |
//! | `h` | hidden (0/1) | [`Tracker::visibility`] |
//! | `s` | bottom, height | [`Tracker::scrolled`] |
//! | `e` | name end | [`Tracker::custom`]; 0 = dropped |
//! | `p` | key end, value end | [`Tracker::prop`] |
//! | `f` | | [`Tracker::end_custom`] |
//! | `l` | link href end, page href end | [`Tracker::link`] |
//!
//! Imports, module `e`: `t()` = `Date.now()`, `m()` = `performance.now()`, `r(ptr, len)` fills
//! with `crypto.getRandomValues`, `s(ptr, len)` sends the request body.

use core::ptr::addr_of_mut;

use crate::tracker::{Env, Tracker};

/// UTF-16 units the loader may write per call (it cuts each string to half of it).
pub const INPUT_CAP: usize = 2 * 2200;

static mut INPUT: [u16; INPUT_CAP] = [0; INPUT_CAP];
static mut TRACKER: Tracker = Tracker::new();

#[link(wasm_import_module = "e")]
extern "C" {
    #[link_name = "t"]
    fn js_wall() -> f64;
    #[link_name = "m"]
    fn js_mono() -> f64;
    #[link_name = "r"]
    fn js_random(ptr: *mut u8, len: usize);
    #[link_name = "s"]
    fn js_send(ptr: *const u8, len: usize);
}

struct Js;

impl Env for Js {
    fn wall(&mut self) -> f64 {
        unsafe { js_wall() }
    }
    fn mono(&mut self) -> f64 {
        unsafe { js_mono() }
    }
    fn random(&mut self, bytes: &mut [u8]) {
        unsafe { js_random(bytes.as_mut_ptr(), bytes.len()) }
    }
    fn send(&mut self, body: &[u8]) {
        unsafe { js_send(body.as_ptr(), body.len()) }
    }
}

// The module is single-threaded and never re-entered (the imports do not call back), so one
// exclusive reference at a time is all there ever is.
fn tracker() -> &'static mut Tracker {
    unsafe { &mut *addr_of_mut!(TRACKER) }
}

/// `[from, to)` of the input buffer, clamped.
fn input(from: usize, to: usize) -> &'static [u16] {
    let input = unsafe { &*addr_of_mut!(INPUT) };
    let to = to.min(INPUT_CAP);
    &input[from.min(to)..to]
}

#[export_name = "i"]
pub extern "C" fn input_ptr() -> *mut u16 {
    addr_of_mut!(INPUT).cast()
}

#[export_name = "c"]
pub extern "C" fn configure(key: usize, href: usize, flags: u32) -> u32 {
    tracker().configure(input(0, key), input(key, href), flags) as u32
}

#[export_name = "v"]
pub extern "C" fn pageview(href: usize, referrer: usize, width: u32, view: u32) {
    tracker().pageview(&mut Js, input(0, href), input(href, referrer), width, view);
}

#[export_name = "n"]
pub extern "C" fn navigate(href: usize) {
    tracker().navigate(&mut Js, input(0, href));
}

#[export_name = "h"]
pub extern "C" fn visibility(hidden: u32) {
    tracker().visibility(&mut Js, hidden != 0);
}

#[export_name = "s"]
pub extern "C" fn scrolled(bottom: u32, height: u32) {
    tracker().scrolled(bottom, height);
}

#[export_name = "e"]
pub extern "C" fn custom(name: usize) -> u32 {
    tracker().custom(&mut Js, input(0, name)) as u32
}

#[export_name = "p"]
pub extern "C" fn prop(key: usize, value: usize) {
    tracker().prop(input(0, key), input(key, value));
}

#[export_name = "f"]
pub extern "C" fn end_custom() {
    tracker().end_custom(&mut Js);
}

#[export_name = "l"]
pub extern "C" fn link(href: usize, page: usize) {
    tracker().link(&mut Js, input(0, href), input(href, page));
}
