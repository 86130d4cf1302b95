//! Per-patch loudness normalisation (front end version 3).
//!
//! `log10(1 + g·S)` is not gain-invariant: a file 6 dB quieter gives a different model input,
//! and a buyer's copy of a track is rarely at the catalog's level. So each patch's mel power is
//! scaled to a fixed mean loudness ([`PATCH_LOUDNESS_TARGET`]) before the log compression.
//! Per patch rather than per track because a patch is what the model sees, and a part of a
//! song searched on its own, a trimmed copy and the whole track must agree on it.

use super::log_compress;
use crate::params::{PATCH_LOUDNESS_FLOOR, PATCH_LOUDNESS_TARGET};

/// Gain that brings mel power of mean `mean_power` to [`PATCH_LOUDNESS_TARGET`], never more
/// than the gain of a patch at [`PATCH_LOUDNESS_FLOOR`] (so near-silence stays quiet).
pub fn patch_gain(mean_power: f32) -> f32 {
    PATCH_LOUDNESS_TARGET / mean_power.max(PATCH_LOUDNESS_FLOOR)
}

/// Scales mel power values (one patch, any layout) by [`patch_gain`] of their mean over
/// `n_values` real values (zero padding past a track's end excluded), then log-compresses
/// them in place with `log_gain`. Returns the gain applied.
pub fn normalise_and_compress(power: &mut [f32], n_values: usize, log_gain: f32) -> f32 {
    let sum: f64 = power.iter().map(|&v| f64::from(v)).sum();
    let mean = if n_values == 0 {
        0.0
    } else {
        (sum / n_values as f64) as f32
    };
    let gain = patch_gain(mean);
    power
        .iter_mut()
        .for_each(|v| *v = log_compress(*v * gain, log_gain));
    gain
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gain_changes_do_not_change_the_compressed_patch() {
        let base: Vec<f32> = (0..200).map(|i| 1e-3 * (1 + i % 17) as f32).collect();
        let mut a = base.clone();
        normalise_and_compress(&mut a, base.len(), 1e4);
        for db in [-20.0f32, -6.0, 6.0] {
            let g = 10f32.powf(db / 10.0);
            let mut b: Vec<f32> = base.iter().map(|v| v * g).collect();
            normalise_and_compress(&mut b, base.len(), 1e4);
            let worst = a
                .iter()
                .zip(&b)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0, f32::max);
            assert!(worst < 1e-4, "{db} dB moved a value by {worst}");
        }
    }

    #[test]
    fn near_silence_is_not_blown_up_and_padding_stays_silent() {
        let mut quiet = vec![1e-12f32; 100];
        quiet.extend(std::iter::repeat_n(0.0, 50));
        let gain = normalise_and_compress(&mut quiet, 100, 1e4);
        assert_eq!(gain, PATCH_LOUDNESS_TARGET / PATCH_LOUDNESS_FLOOR);
        // 1e-12 is 115 dB below the target: scaled by the floor's gain it stays near 0 (a
        // loud patch's mean compresses to log10(1 + 1e4 * 0.3) = 3.5)
        assert!(quiet[0] < 0.01, "{}", quiet[0]);
        assert_eq!(quiet[120], 0.0);
        // A loud patch is brought to the target: its mean power after scaling is the target.
        let mut loud = vec![2.0f32; 10];
        let g = normalise_and_compress(&mut loud, 10, 1e4);
        assert!((2.0 * g - PATCH_LOUDNESS_TARGET).abs() < 1e-9);
    }
}
