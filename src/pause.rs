//! CLIENT PAUSE: while a pause lasts, commands of normal clients that it
//! covers (every command with ALL; with WRITE, those that may write or
//! replicate) are postponed: the client is parked with that command and its
//! later input stays buffered until the pause ends. Expiry and eviction are
//! paused too, so the dataset does not change behind the paused writers.
//! Replicas attached to us are never paused.

/// The pause state and the clients it parked, oldest first.
#[derive(Default, Debug)]
pub struct Pause {
    active: bool,
    /// Pause everything, not only writes.
    all: bool,
    /// Unix time (ms) at which the pause ends.
    end_ms: i64,
    /// Tokens of the clients holding a postponed command, in arrival order.
    pub postponed: Vec<usize>,
    /// The pause ended: the postponed clients must be resumed.
    pub resume: bool,
}

impl Pause {
    /// CLIENT PAUSE: pauses until `end_ms`, or longer if an earlier pause
    /// ends later; a pause of everything stays so until it ends.
    pub fn pause(&mut self, end_ms: i64, all: bool) {
        if self.active {
            self.all |= all;
            self.end_ms = self.end_ms.max(end_ms);
        } else {
            self.all = all;
            self.end_ms = end_ms;
        }
        self.active = true;
    }

    /// CLIENT UNPAUSE, or the end of the pause.
    pub fn unpause(&mut self) {
        if self.active {
            self.active = false;
            self.all = false;
            self.end_ms = 0;
            self.resume = true;
        }
    }

    /// Ends the pause if its time has come.
    pub fn update(&mut self, now: i64) {
        if self.active && now >= self.end_ms {
            self.unpause();
        }
    }

    /// Whether expiry and eviction are paused.
    pub fn active(&self) -> bool {
        self.active
    }

    /// When the pause ends, if one is active.
    pub fn deadline(&self) -> Option<i64> {
        self.active.then_some(self.end_ms)
    }

    /// Whether a command that may write (`writes`) or not is postponed.
    pub fn blocks(&self, writes: bool) -> bool {
        self.active && (self.all || writes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn most_restrictive_and_longest_pause_wins() {
        let mut p = Pause::default();
        assert!(!p.blocks(true));
        p.pause(200, true);
        p.pause(20, false);
        assert!(p.blocks(false));
        assert_eq!(p.deadline(), Some(200));
        p.update(100);
        assert!(p.active());
        p.update(200);
        assert!(!p.active());
        assert!(p.resume);
        p.pause(50, false);
        assert!(p.blocks(true) && !p.blocks(false));
        p.unpause();
        assert!(!p.blocks(true));
    }
}
