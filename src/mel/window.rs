//! Analysis windows.

/// Periodic ("DFT-even") Hann window of `len` samples, as `scipy.signal.get_window('hann', len)`
/// and therefore librosa use: `w[n] = 0.5 − 0.5·cos(2πn / len)`.
///
/// The periodic form (denominator `len`, not `len − 1`) makes overlapping windows at hop `len/2`
/// sum to a constant, which is why spectral analysis uses it.
pub fn hann_periodic(len: usize) -> Vec<f32> {
    (0..len)
        .map(|n| {
            let phase = 2.0 * std::f64::consts::PI * n as f64 / len as f64;
            (0.5 - 0.5 * phase.cos()) as f32
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periodic_hann_starts_at_zero_peaks_at_centre() {
        let w = hann_periodic(512);
        assert_eq!(w.len(), 512);
        assert_eq!(w[0], 0.0);
        assert!((w[256] - 1.0).abs() < 1e-7);
        // Periodic: w[n] == w[len - n], so the last sample is not zero.
        assert!((w[1] - w[511]).abs() < 1e-7);
        assert!(w[511] > 0.0);
    }
}
