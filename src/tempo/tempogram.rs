//! The autocorrelation tempogram of an onset envelope (librosa's `feature.tempogram`): in
//! overlapping windows, how well the envelope matches itself shifted by each lag. A steady beat
//! shows as peaks at the beat period and its multiples.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

/// Length of one analysis window, in seconds: librosa's 384 frames at 22,050 Hz / 512.
pub const WINDOW_SECONDS: f64 = 8.9;

/// Step between windows, in seconds. librosa steps by one frame; a quarter window gives the
/// same mean at 1/128 of the work.
pub const WINDOW_HOP_SECONDS: f64 = 2.2;

/// Normalised autocorrelations of the windows of an onset envelope.
#[derive(Debug, Clone)]
pub struct Tempogram {
    /// Window length, in frames; each row holds lags `0..window`.
    pub window: usize,
    /// Envelope frames per second.
    pub frames_per_second: f64,
    /// First frame of each window.
    pub starts: Vec<usize>,
    /// One row per window: the autocorrelation of the Hann-windowed envelope divided by its
    /// value at lag 0, as librosa computes it (0 for a window without any onset). Its slope
    /// (the envelope's mean correlates with itself less at longer lags) favours faster tempi,
    /// which librosa's octave choice relies on.
    pub rows: Vec<Vec<f32>>,
    /// The same with the window's mean removed first: how periodic the onsets are at each lag,
    /// without the slope (noise: near 0 beyond the first lags; a click track: near 1).
    pub periodicity: Vec<Vec<f32>>,
}

impl Tempogram {
    /// The tempogram of `envelope` (one value per frame, `frames_per_second` of them a second).
    /// An envelope shorter than one window gives one window over all of it.
    pub fn new(envelope: &[f32], frames_per_second: f64) -> Self {
        let window = ((WINDOW_SECONDS * frames_per_second).round() as usize).max(4);
        let hop = ((WINDOW_HOP_SECONDS * frames_per_second).round() as usize).max(1);
        let starts: Vec<usize> = if envelope.len() <= window {
            vec![0]
        } else {
            (0..=envelope.len() - window).step_by(hop).collect()
        };
        let mut acf = Autocorrelation::new(window);
        let (rows, periodicity) = starts
            .iter()
            .map(|&s| {
                let frames = &envelope[s..(s + window).min(envelope.len())];
                (acf.normalised(frames, false), acf.normalised(frames, true))
            })
            .unzip();
        Tempogram {
            window,
            frames_per_second,
            starts,
            rows,
            periodicity,
        }
    }

    /// The mean of `rows` (librosa's aggregate tempogram) or of `periodicity`.
    pub fn mean(&self, periodicity: bool) -> Vec<f32> {
        let rows = if periodicity {
            &self.periodicity
        } else {
            &self.rows
        };
        let mut mean = vec![0.0f32; self.window];
        for row in rows {
            mean.iter_mut().zip(row).for_each(|(m, v)| *m += v);
        }
        let n = rows.len().max(1) as f32;
        mean.iter_mut().for_each(|m| *m /= n);
        mean
    }

    /// Tempo, in beats per minute, of a (fractional) lag in frames.
    pub fn bpm_of_lag(&self, lag: f64) -> f64 {
        60.0 * self.frames_per_second / lag
    }
}

/// Autocorrelation of windows of one length through a real FFT twice the length (no wrap).
struct Autocorrelation {
    window: usize,
    hann: Vec<f32>,
    forward: Arc<dyn RealToComplex<f32>>,
    inverse: Arc<dyn ComplexToReal<f32>>,
    time: Vec<f32>,
    spectrum: Vec<Complex<f32>>,
}

impl Autocorrelation {
    fn new(window: usize) -> Self {
        let n = (2 * window).next_power_of_two();
        let mut planner = RealFftPlanner::<f32>::new();
        let forward = planner.plan_fft_forward(n);
        let inverse = planner.plan_fft_inverse(n);
        let spectrum = forward.make_output_vec();
        // The periodic Hann window, as librosa's `get_window('hann', n)`.
        let hann = (0..window)
            .map(|i| {
                (0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / window as f64).cos()) as f32
            })
            .collect();
        Autocorrelation {
            window,
            hann,
            forward,
            inverse,
            time: vec![0.0; n],
            spectrum,
        }
    }

    /// Lags `0..window` of the autocorrelation of `frames` (at most `window` long, zero-padded),
    /// Hann-windowed (after removing its mean when `remove_mean`), divided by lag 0.
    fn normalised(&mut self, frames: &[f32], remove_mean: bool) -> Vec<f32> {
        let mean = if remove_mean {
            frames.iter().sum::<f32>() / frames.len().max(1) as f32
        } else {
            0.0
        };
        self.time.iter_mut().for_each(|v| *v = 0.0);
        for ((t, &x), &w) in self.time.iter_mut().zip(frames).zip(&self.hann) {
            *t = (x - mean) * w;
        }
        self.forward
            .process(&mut self.time, &mut self.spectrum)
            .expect("buffer sizes come from the plan");
        for c in &mut self.spectrum {
            *c = Complex::new(c.norm_sqr(), 0.0);
        }
        self.inverse
            .process(&mut self.spectrum, &mut self.time)
            .expect("buffer sizes come from the plan");
        let zero = self.time[0];
        if zero <= f32::EPSILON * self.time.len() as f32 {
            return vec![0.0; self.window];
        }
        self.time[..self.window].iter().map(|v| v / zero).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pulse_train_peaks_at_its_period() {
        let fps = 62.5;
        let period = 25; // 150 BPM
        let env: Vec<f32> = (0..2000)
            .map(|t| if t % period == 0 { 1.0 } else { 0.0 })
            .collect();
        let tg = Tempogram::new(&env, fps);
        assert!(tg.rows.len() > 10);
        let mean = tg.mean(true);
        assert_eq!(mean[0], 1.0);
        let best = (10..60)
            .max_by(|&a, &b| mean[a].total_cmp(&mean[b]))
            .unwrap();
        assert_eq!(best, period);
        assert!(mean[period] > 0.8, "{}", mean[period]);
        assert!(mean[period / 2] < 0.0);
        // Without the mean removed, the slope lifts every lag.
        let raw = tg.mean(false);
        assert!(raw[period / 2] > 0.0 && raw[period] > raw[period / 2]);
        assert!((tg.bpm_of_lag(period as f64) - 150.0).abs() < 1e-9);
    }

    #[test]
    fn no_onsets_no_correlation() {
        let tg = Tempogram::new(&[0.0; 300], 62.5);
        assert_eq!(tg.rows.len(), 1);
        assert!(tg.mean(false).iter().all(|&v| v == 0.0));
        assert!(tg.mean(true).iter().all(|&v| v == 0.0));
    }
}
