//! Shared by the native benchmarks: the timing rule.

use std::time::Instant;

/// Median, min and max of `runs` timings of `f`, in milliseconds (after one warm-up call).
pub fn time_ms(runs: usize, mut f: impl FnMut()) -> serde_json::Value {
    f();
    let mut t: Vec<f64> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    t.sort_by(f64::total_cmp);
    serde_json::json!({ "median": t[t.len() / 2], "min": t[0], "max": t[t.len() - 1], "runs": runs })
}
