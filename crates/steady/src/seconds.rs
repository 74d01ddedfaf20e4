//! Two counts per wall-clock second over a sliding window: the breaker's calls and
//! failures, the budget's first attempts and retries.
//!
//! Why a type of its own: with a `--state` file, several processes update the same
//! window, and each reads its clock before it gets the file's lock. A process that read
//! 12:00:00.999 can write after one that read 12:00:01.001, so a slot for an earlier
//! second can arrive after the slot for a later one. Counting into "the last slot, or a
//! new one pushed at the end", and dropping every slot later than "now", lost the other
//! process's counts at each second boundary. Here a count goes into the slot of its own
//! second wherever it is, slots stay in order, and a slot slightly in the future (another
//! process's clock, a moment ahead) is kept.

use serde::{Deserialize, Serialize};

/// `(second, a, b)` for the last seconds, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct Seconds(Vec<(u64, u32, u32)>);

impl Seconds {
    /// Drops the seconds that fell out of a window of `window_s` seconds ending at
    /// `now_ms`. Seconds ahead of `now_ms` by less than a window are kept: they are
    /// counts of a process whose clock reads a little later; further ahead, they are
    /// from a clock that was set back, and go.
    pub(crate) fn trim(&mut self, now_ms: u64, window_s: u64) {
        let window_s = window_s.max(1);
        let now_s = now_ms / 1000;
        let oldest = now_s.saturating_sub(window_s - 1);
        let newest = now_s.saturating_add(window_s);
        self.0.retain(|(s, _, _)| (oldest..=newest).contains(s));
    }

    /// Trims, then gives the counts of the second of `now_ms`, made if need be.
    pub(crate) fn at(&mut self, now_ms: u64, window_s: u64) -> (&mut u32, &mut u32) {
        self.trim(now_ms, window_s);
        let now_s = now_ms / 1000;
        let index = match self.0.binary_search_by_key(&now_s, |(s, _, _)| *s) {
            Ok(index) => index,
            Err(index) => {
                self.0.insert(index, (now_s, 0, 0));
                index
            }
        };
        let (_, a, b) = &mut self.0[index];
        (a, b)
    }

    /// How many seconds hold counts.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// The slots, oldest first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u64, u32, u32)> + '_ {
        self.0.iter().copied()
    }

    /// The sums of both counts.
    pub(crate) fn totals(&self) -> (u32, u32) {
        self.0
            .iter()
            .fold((0, 0), |(a, b), (_, da, db)| (a + da, b + db))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_for_an_earlier_second_arriving_late_is_kept_with_the_later_one() {
        let mut w = Seconds::default();
        *w.at(1_001, 10).0 += 1;
        *w.at(999, 10).0 += 1;
        *w.at(1_500, 10).0 += 1;
        assert_eq!(w.totals(), (3, 0));
        assert_eq!(
            w.0,
            vec![(0, 1, 0), (1, 2, 0)],
            "one slot per second, in order"
        );
    }

    #[test]
    fn old_seconds_and_far_future_ones_go() {
        let mut w = Seconds::default();
        *w.at(0, 2).1 += 1;
        *w.at(1_000, 2).1 += 1;
        w.trim(2_000, 2);
        assert_eq!(w.totals(), (0, 1), "second 0 fell out of a 2s window");
        *w.at(100_000, 2).1 += 1;
        w.trim(3_000, 2);
        assert_eq!(
            w.totals(),
            (0, 0),
            "second 100 is a clock set back, not a neighbour"
        );
    }
}
