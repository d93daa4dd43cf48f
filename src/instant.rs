//! Instantaneous metrics (INFO's `instantaneous_*`): a counter sampled
//! every 100 ms, as Redis's `trackInstantaneousMetric`, averaged over the
//! last 16 samples.

const SAMPLES: usize = 16;

#[derive(Default, Clone)]
pub struct Metric {
    last_value: u64,
    last_base: u64,
    started: bool,
    samples: [u64; SAMPLES],
    idx: usize,
}

impl Metric {
    /// Samples the growth of `value` per unit of `base` growth, times
    /// `factor` (base in ms and factor 1000 gives a rate per second).
    pub fn track(&mut self, value: u64, base: u64, factor: u64) {
        if self.started && base > self.last_base {
            let v = value.saturating_sub(self.last_value).saturating_mul(factor)
                / (base - self.last_base);
            self.samples[self.idx] = v;
            self.idx = (self.idx + 1) % SAMPLES;
        }
        self.started = true;
        self.last_value = value;
        self.last_base = base;
    }

    pub fn get(&self) -> u64 {
        self.samples.iter().sum::<u64>() / SAMPLES as u64
    }
}

/// The metrics INFO reports.
#[derive(Default, Clone)]
pub struct Metrics {
    pub ops: Metric,
    pub net_input: Metric,
    pub net_output: Metric,
    pub el_cycles: Metric,
    pub el_duration: Metric,
    next_ms: i64,
}

/// What the metrics are computed from.
pub struct Counters {
    pub commands: u64,
    pub net_input: u64,
    pub net_output: u64,
    pub el_cycles: u64,
    pub el_duration_us: u64,
}

impl Metrics {
    /// Takes a sample when 100 ms have passed since the last one.
    pub fn sample(&mut self, now_ms: i64, c: &Counters) {
        if now_ms < self.next_ms {
            return;
        }
        self.next_ms = now_ms + 100;
        let t = now_ms.max(0) as u64;
        self.ops.track(c.commands, t, 1000);
        self.net_input.track(c.net_input, t, 1000);
        self.net_output.track(c.net_output, t, 1000);
        self.el_cycles.track(c.el_cycles, t, 1000);
        // Average duration of a loop turn over the last period.
        self.el_duration.track(c.el_duration_us, c.el_cycles, 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_average_the_last_sixteen_samples() {
        let mut m = Metric::default();
        m.track(0, 0, 1000);
        for i in 1..=16u64 {
            m.track(i * 50, i * 100, 1000); // 50 per 100 ms
        }
        assert_eq!(m.get(), 500);
        m.track(800, 1600, 1000); // same base: ignored
        assert_eq!(m.get(), 500);
    }
}
