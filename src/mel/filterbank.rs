//! Mel filterbanks as librosa builds them: the Slaney mel scale with Slaney ("area")
//! normalisation (`librosa.filters.mel(htk=False, norm='slaney')`, the product's front end), or
//! the HTK scale with unit-sum filters (`htk=True, norm=1`, aiSFX's).

use crate::params::MelFilters;

/// Frequency below which the Slaney mel scale is linear, in Hz.
const LINEAR_LIMIT_HZ: f64 = 1000.0;
/// Width of one mel in the linear part, in Hz (200/3 Hz per mel).
const HZ_PER_MEL_LINEAR: f64 = 200.0 / 3.0;
/// Mel value at [`LINEAR_LIMIT_HZ`].
const LINEAR_LIMIT_MEL: f64 = LINEAR_LIMIT_HZ / HZ_PER_MEL_LINEAR;

/// Log step of the Slaney scale above 1 kHz, in mels per natural-log unit of frequency.
fn log_step() -> f64 {
    (6.4f64).ln() / 27.0
}

/// Converts a frequency in Hz to Slaney mels (`librosa.hz_to_mel(htk=False)`).
pub fn hz_to_mel(hz: f64) -> f64 {
    if hz >= LINEAR_LIMIT_HZ {
        LINEAR_LIMIT_MEL + (hz / LINEAR_LIMIT_HZ).ln() / log_step()
    } else {
        hz / HZ_PER_MEL_LINEAR
    }
}

/// Converts Slaney mels to a frequency in Hz (`librosa.mel_to_hz(htk=False)`).
pub fn mel_to_hz(mel: f64) -> f64 {
    if mel >= LINEAR_LIMIT_MEL {
        LINEAR_LIMIT_HZ * (log_step() * (mel - LINEAR_LIMIT_MEL)).exp()
    } else {
        HZ_PER_MEL_LINEAR * mel
    }
}

/// Converts a frequency in Hz to HTK mels, `2595 · log10(1 + f / 700)`
/// (`librosa.hz_to_mel(htk=True)`).
pub fn hz_to_mel_htk(hz: f64) -> f64 {
    2595.0 * (1.0 + hz / 700.0).log10()
}

/// Converts HTK mels to a frequency in Hz (`librosa.mel_to_hz(htk=True)`).
pub fn mel_to_hz_htk(mel: f64) -> f64 {
    700.0 * (10f64.powf(mel / 2595.0) - 1.0)
}

/// A conversion between Hz and mels.
type Conversion = fn(f64) -> f64;

/// One triangular filter: non-zero weights for FFT bins `first_bin..first_bin + weights.len()`.
#[derive(Debug, Clone)]
struct Filter {
    first_bin: usize,
    weights: Vec<f32>,
}

/// A bank of `n_mels` triangular filters over the `n_fft / 2 + 1` bins of a power spectrum.
///
/// Stored sparsely: each filter covers only a few bins, so projecting a 257-bin frame onto 96
/// bands costs about 500 multiply-adds instead of 25 000.
#[derive(Debug, Clone)]
pub struct MelFilterbank {
    filters: Vec<Filter>,
    n_freqs: usize,
}

impl MelFilterbank {
    /// Builds the filterbank for `sample_rate_hz`, an FFT of `n_fft` samples, `n_mels` bands
    /// between `fmin_hz` and `fmax_hz`, on the scale and with the normalisation of `style`.
    /// Weights are computed in f64 and stored as f32, as librosa does.
    pub fn new(
        sample_rate_hz: u32,
        n_fft: usize,
        n_mels: usize,
        (fmin_hz, fmax_hz): (f32, f32),
        style: MelFilters,
    ) -> Self {
        let (to_mel, to_hz): (Conversion, Conversion) = match style {
            MelFilters::Slaney => (hz_to_mel, mel_to_hz),
            MelFilters::HtkUnitSum => (hz_to_mel_htk, mel_to_hz_htk),
        };
        let n_freqs = n_fft / 2 + 1;
        let sr = f64::from(sample_rate_hz);
        let fft_freqs: Vec<f64> = (0..n_freqs).map(|k| k as f64 * sr / n_fft as f64).collect();
        // n_mels + 2 band edges, evenly spaced in mels.
        let (mel_lo, mel_hi) = (to_mel(f64::from(fmin_hz)), to_mel(f64::from(fmax_hz)));
        let edges: Vec<f64> = (0..n_mels + 2)
            .map(|i| to_hz(mel_lo + (mel_hi - mel_lo) * i as f64 / (n_mels + 1) as f64))
            .collect();
        let filters = (0..n_mels)
            .map(|m| {
                let (lo, centre, hi) = (edges[m], edges[m + 1], edges[m + 2]);
                let triangle: Vec<f64> = fft_freqs
                    .iter()
                    .map(|&f| {
                        let rising = (f - lo) / (centre - lo);
                        let falling = (hi - f) / (hi - centre);
                        rising.min(falling).max(0.0)
                    })
                    .collect();
                let norm = match style {
                    // Slaney normalisation: each filter has unit area in Hz.
                    MelFilters::Slaney => 2.0 / (hi - lo),
                    // norm=1: the weights of each filter sum to 1 (librosa's floor 1e-10
                    // keeps an empty filter at zero).
                    MelFilters::HtkUnitSum => 1.0 / triangle.iter().sum::<f64>().max(1e-10),
                };
                let dense: Vec<f32> = triangle.iter().map(|&w| (w * norm) as f32).collect();
                let first = dense.iter().position(|&w| w > 0.0).unwrap_or(0);
                let last = dense
                    .iter()
                    .rposition(|&w| w > 0.0)
                    .map_or(first, |l| l + 1);
                Filter {
                    first_bin: first,
                    weights: dense[first..last].to_vec(),
                }
            })
            .collect();
        MelFilterbank { filters, n_freqs }
    }

    /// Number of mel bands.
    pub fn n_mels(&self) -> usize {
        self.filters.len()
    }

    /// Number of FFT bins each input frame must have.
    pub fn n_freqs(&self) -> usize {
        self.n_freqs
    }

    /// Projects one power-spectrum frame (`n_freqs` bins) onto the mel bands, writing `n_mels`
    /// values into `out`.
    pub fn apply(&self, power: &[f32], out: &mut [f32]) {
        debug_assert_eq!(power.len(), self.n_freqs);
        for (band, filter) in out.iter_mut().zip(&self.filters) {
            let bins = &power[filter.first_bin..filter.first_bin + filter.weights.len()];
            *band = bins.iter().zip(&filter.weights).map(|(p, w)| p * w).sum();
        }
    }

    /// The dense `[n_mels][n_freqs]` weight matrix, row-major (for tests and inspection).
    pub fn to_dense(&self) -> Vec<f32> {
        let mut dense = vec![0.0; self.n_mels() * self.n_freqs];
        for (m, f) in self.filters.iter().enumerate() {
            let row = &mut dense[m * self.n_freqs..(m + 1) * self.n_freqs];
            row[f.first_bin..f.first_bin + f.weights.len()].copy_from_slice(&f.weights);
        }
        dense
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slaney_scale_matches_librosa_values() {
        // librosa.hz_to_mel(1000) == 15, hz_to_mel(8000) == 45.245640471924965
        assert!((hz_to_mel(1000.0) - 15.0).abs() < 1e-12);
        assert!((hz_to_mel(8000.0) - 45.245_640_471_924_965).abs() < 1e-9);
        for hz in [0.0, 50.0, 999.0, 1000.0, 4321.0, 8000.0] {
            assert!((mel_to_hz(hz_to_mel(hz)) - hz).abs() < 1e-9);
        }
    }

    #[test]
    fn every_band_has_weights_and_bands_ascend() {
        let fb = MelFilterbank::new(16_000, 512, 96, (0.0, 8_000.0), MelFilters::Slaney);
        assert_eq!(fb.n_mels(), 96);
        let mut last_first = 0;
        for f in &fb.filters {
            assert!(!f.weights.is_empty());
            assert!(f.first_bin >= last_first);
            last_first = f.first_bin;
        }
    }

    #[test]
    fn htk_unit_sum_filters_match_librosa() {
        // librosa.hz_to_mel(1000, htk=True) == 999.9855371396243
        assert!((hz_to_mel_htk(1000.0) - 999.985_537_139_624_3).abs() < 1e-9);
        assert!((mel_to_hz_htk(hz_to_mel_htk(4321.0)) - 4321.0).abs() < 1e-9);
        let fb = MelFilterbank::new(44_100, 2048, 96, (0.0, 22_050.0), MelFilters::HtkUnitSum);
        assert_eq!(fb.n_freqs(), 1025);
        for f in &fb.filters {
            // aiSFX's bank has no empty filter: 2..74 bins each, every one summing to 1.
            assert!((2..=74).contains(&f.weights.len()), "{}", f.weights.len());
            let sum: f32 = f.weights.iter().sum();
            assert!((sum - 1.0).abs() < 1e-5, "{sum}");
        }
    }
}
