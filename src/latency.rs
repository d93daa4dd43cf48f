//! The latency monitor (`latency-monitor-threshold`): per event
//! ("command", "fast-command", "expire-cycle"...), the worst latency of
//! each second it went over the threshold, the last 160 such seconds, and
//! the all-time maximum, as Redis's `latency.c` keeps them.

use std::collections::{BTreeMap, VecDeque};

const HISTORY: usize = 160;

#[derive(Default)]
pub struct Event {
    /// (unix seconds, milliseconds), oldest first.
    pub samples: VecDeque<(i64, u64)>,
    pub max: u64,
}

#[derive(Default)]
pub struct Monitor {
    pub events: BTreeMap<&'static str, Event>,
}

impl Monitor {
    /// Records `ms` for `event` if it reaches `threshold` (0: off).
    pub fn add_if_needed(&mut self, threshold: i64, event: &'static str, ms: u64) {
        if threshold > 0 && ms as i64 >= threshold {
            self.add(event, ms, crate::util::now_ms() / 1000);
        }
    }

    fn add(&mut self, event: &'static str, ms: u64, now: i64) {
        let e = self.events.entry(event).or_default();
        e.max = e.max.max(ms);
        match e.samples.back_mut() {
            // One sample per second: the worst of that second.
            Some((t, v)) if *t == now => *v = (*v).max(ms),
            _ => {
                if e.samples.len() == HISTORY {
                    e.samples.pop_front();
                }
                e.samples.push_back((now, ms));
            }
        }
    }

    /// Drops the named events (all, when `names` is empty); returns how
    /// many there were.
    pub fn reset(&mut self, names: &[&[u8]]) -> usize {
        if names.is_empty() {
            let n = self.events.len();
            self.events.clear();
            return n;
        }
        let before = self.events.len();
        self.events
            .retain(|k, _| !names.iter().any(|n| n.eq_ignore_ascii_case(k.as_bytes())));
        before - self.events.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_sample_per_second_keeping_the_worst() {
        let mut m = Monitor::default();
        m.add("command", 300, 10);
        m.add("command", 500, 10);
        m.add("command", 400, 11);
        let e = &m.events["command"];
        assert_eq!(e.samples, [(10, 500), (11, 400)]);
        assert_eq!(e.max, 500);
        for t in 0..200 {
            m.add("expire-cycle", 1, 100 + t);
        }
        assert_eq!(m.events["expire-cycle"].samples.len(), HISTORY);
        assert_eq!(m.reset(&[b"nope"]), 0);
        assert_eq!(m.reset(&[b"COMMAND"]), 1);
        assert_eq!(m.reset(&[]), 1);
    }
}
