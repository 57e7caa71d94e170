//! Engaged time and scroll depth of the current page view.
//!
//! Engaged time runs while the page is visible and pauses while it is hidden. Each `page_exit`
//! reports the engaged time since the previous one of the same page view (the tab was hidden,
//! came back, then the visitor navigated), so the sum over a page view's exits is its engaged
//! time and the collector can add them up. A page view that was not visible since its last report
//! has nothing to report: the usual `visibilitychange` (hidden) then `pagehide` on closing a tab
//! gives one `page_exit`, not two.

use contract::limits::MAX_PAGE_DURATION_MS;

#[derive(Default, Debug, Clone, Copy)]
pub struct Engagement {
    /// Monotonic time (`performance.now()`, ms) since which the page is visible, when it is.
    visible_since: Option<f64>,
    /// Visible time since the last report, not counting the running stretch.
    banked: f64,
    /// Whether the page was visible at some time since the last report.
    pending: bool,
    /// Deepest scroll seen in this page view, percent.
    scroll: u8,
}

impl Engagement {
    /// Before any page view.
    pub const fn idle() -> Self {
        Self {
            visible_since: None,
            banked: 0.0,
            pending: false,
            scroll: 0,
        }
    }

    pub fn is_visible(&self) -> bool {
        self.visible_since.is_some()
    }

    /// A new page view, visible or not.
    pub fn start(now: f64, visible: bool) -> Self {
        Self {
            visible_since: visible.then_some(now),
            banked: 0.0,
            pending: visible,
            scroll: 0,
        }
    }

    pub fn hide(&mut self, now: f64) {
        if let Some(since) = self.visible_since.take() {
            self.banked += (now - since).max(0.0);
        }
    }

    pub fn show(&mut self, now: f64) {
        if self.visible_since.is_none() {
            self.visible_since = Some(now);
            self.pending = true;
        }
    }

    /// Records the visible part of the page: `bottom` is how far down it was seen (scroll offset +
    /// viewport height), `height` the document's height, both in CSS pixels.
    pub fn scrolled(&mut self, bottom: u32, height: u32) {
        let percent = if height == 0 {
            100
        } else {
            (bottom as u64 * 100 / height as u64).min(100) as u8
        };
        self.scroll = self.scroll.max(percent);
    }

    /// The engaged ms since the last report and the deepest scroll, or `None` when the page was
    /// not visible since then. Starts the next reporting period.
    pub fn report(&mut self, now: f64) -> Option<(u64, u8)> {
        if !self.pending {
            return None;
        }
        let running = self.visible_since.map_or(0.0, |since| (now - since).max(0.0));
        let ms = ((self.banked + running) as u64).min(MAX_PAGE_DURATION_MS);
        self.banked = 0.0;
        if self.visible_since.is_some() {
            self.visible_since = Some(now);
        }
        self.pending = self.visible_since.is_some();
        Some((ms, self.scroll))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_visible_time_only() {
        let mut e = Engagement::start(1_000.0, true);
        e.hide(3_000.0);
        e.hide(3_500.0); // twice hidden: no effect
        e.show(10_000.0);
        e.show(10_500.0); // twice shown: the first counts
        assert_eq!(e.report(11_000.0), Some((3_000, 0)));
    }

    #[test]
    fn reports_each_stretch_once() {
        let mut e = Engagement::start(0.0, true);
        e.hide(2_000.0);
        assert_eq!(e.report(2_000.0), Some((2_000, 0)));
        // pagehide right after visibilitychange(hidden): nothing new.
        assert_eq!(e.report(2_100.0), None);
        e.show(5_000.0);
        assert_eq!(e.report(5_400.0), Some((400, 0)));
        // Still visible: a later report counts from the previous one.
        assert_eq!(e.report(6_000.0), Some((600, 0)));
    }

    #[test]
    fn a_page_opened_in_the_background_reports_nothing_until_seen() {
        let mut e = Engagement::start(0.0, false);
        assert_eq!(e.report(9_000.0), None);
        e.show(10_000.0);
        e.hide(10_250.0);
        assert_eq!(e.report(20_000.0), Some((250, 0)));
    }

    #[test]
    fn clock_oddities_never_go_negative_or_past_a_day() {
        let mut e = Engagement::start(5_000.0, true);
        assert_eq!(e.report(4_000.0), Some((0, 0)));
        let mut e = Engagement::start(0.0, true);
        assert_eq!(e.report(1e12), Some((MAX_PAGE_DURATION_MS, 0)));
    }

    #[test]
    fn scroll_depth_is_the_maximum_in_percent() {
        let mut e = Engagement::start(0.0, true);
        e.scrolled(800, 4_000);
        e.scrolled(3_000, 4_000);
        e.scrolled(1_000, 4_000);
        assert_eq!(e.report(1.0).unwrap().1, 75);
        e.scrolled(5_000, 4_000);
        assert_eq!(e.report(2.0).unwrap().1, 100);
        e.scrolled(0, 0);
        assert_eq!(e.report(3.0).unwrap().1, 100);
    }
}
