//! `oom-score-adj`: the server's /proc/self/oom_score_adj follows its role
//! (master or replica), as Redis's `setOOMScoreAdj`.
//!
//! The first time the server takes control it remembers the value it
//! found (the base): `relative` values are added to it, and turning the
//! feature off writes it back.

use crate::config::Config;

const PROC_FILE: &str = "/proc/self/oom_score_adj";

/// Whether the server has adjusted the score, and the value it found.
#[derive(Default)]
pub struct OomScore {
    base: Option<i64>,
}

fn read_current() -> Option<i64> {
    std::fs::read_to_string(PROC_FILE).ok()?.trim().parse().ok()
}

impl OomScore {
    /// Applies the configuration for a master (`replica` false) or a
    /// replica. Errors carry the text CONFIG SET reports.
    pub fn apply(&mut self, cfg: &Config, replica: bool) -> Result<(), String> {
        let mode = cfg.get("oom-score-adj");
        let val = if mode != "no" {
            let base = match self.base {
                Some(b) => b,
                None => {
                    let b = read_current().unwrap_or(0);
                    self.base = Some(b);
                    b
                }
            };
            target(mode, cfg.get("oom-score-adj-values"), replica, base)
        } else if let Some(b) = self.base.take() {
            b
        } else {
            return Ok(());
        };
        std::fs::write(PROC_FILE, format!("{val}\n")).map_err(|e| {
            log::warn!(
                "Unable to write oom_score_adj: {}",
                crate::util::os_error_text(&e)
            );
            "Failed to set current oom_score_adj. Check server logs.".to_string()
        })
    }
}

/// The score for a role: the class's value (master, replica, child),
/// added to the base unless `absolute`, within the kernel's range.
fn target(mode: &str, values: &str, replica: bool, base: i64) -> i64 {
    let vals: Vec<i64> = values
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    let v = vals.get(usize::from(replica)).copied().unwrap_or(0);
    let v = if mode == "absolute" { v } else { v + base };
    v.clamp(-1000, 1000)
}

#[cfg(test)]
mod tests {
    use super::target;

    #[test]
    fn relative_adds_the_base_absolute_does_not_and_both_clamp() {
        assert_eq!(target("yes", "10 20 30", false, 5), 15);
        assert_eq!(target("relative", "10 20 30", true, 5), 25);
        assert_eq!(target("absolute", "10 20 30", true, 5), 20);
        assert_eq!(target("relative", "2000 0 0", false, 5), 1000);
        assert_eq!(target("absolute", "-2000 0 0", false, 0), -1000);
    }
}
