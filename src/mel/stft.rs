//! Streaming short-time power spectrum with librosa's `center=True, pad_mode='constant'` framing.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};

use super::window::hann_periodic;

/// Cuts a sample stream into Hann-windowed frames and returns each frame's power spectrum.
///
/// The signal is treated as if `n_fft / 2` zeros were added at both ends, so frame `t` is centred
/// on sample `t · hop`; `n` samples give `1 + n / hop` frames, exactly like librosa.
/// Samples can be pushed in pieces of any size; memory stays at about one frame.
pub struct PowerStft {
    n_fft: usize,
    hop: usize,
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
    /// Samples not yet fully consumed; `start` is the first one still needed.
    pending: Vec<f32>,
    start: usize,
    samples_seen: usize,
    frames_done: usize,
    frame: Vec<f32>,
    spectrum: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
    power: Vec<f32>,
}

impl PowerStft {
    /// Creates a framer for an FFT (and window) of `n_fft` samples and a hop of `hop` samples.
    pub fn new(n_fft: usize, hop: usize) -> Self {
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(n_fft);
        let spectrum = fft.make_output_vec();
        let scratch = fft.make_scratch_vec();
        PowerStft {
            n_fft,
            hop,
            window: hann_periodic(n_fft),
            pending: vec![0.0; n_fft / 2],
            start: 0,
            samples_seen: 0,
            frames_done: 0,
            frame: vec![0.0; n_fft],
            power: vec![0.0; spectrum.len()],
            spectrum,
            scratch,
            fft,
        }
    }

    /// Number of frequency bins of each power frame (`n_fft / 2 + 1`).
    pub fn n_freqs(&self) -> usize {
        self.power.len()
    }

    /// Appends `samples` and calls `emit` with the power spectrum (`n_freqs` bins, |X|²) of every
    /// frame that is now complete.
    pub fn push(&mut self, samples: &[f32], mut emit: impl FnMut(&[f32])) {
        self.samples_seen += samples.len();
        self.pending.extend_from_slice(samples);
        while self.pending.len() - self.start >= self.n_fft {
            self.emit_frame(&mut emit);
        }
        // Drop consumed samples now and then, so `pending` stays about one frame long.
        if self.start > 4 * self.n_fft {
            self.pending.drain(..self.start);
            self.start = 0;
        }
    }

    /// Pads the end with zeros and emits the remaining frames, up to `1 + n / hop` in total.
    pub fn finish(&mut self, mut emit: impl FnMut(&[f32])) {
        let total = 1 + self.samples_seen / self.hop;
        self.pending
            .resize(self.pending.len() + self.n_fft / 2, 0.0);
        while self.frames_done < total {
            if self.pending.len() - self.start < self.n_fft {
                // Only reachable when the signal is shorter than half a frame.
                let need = self.start + self.n_fft;
                self.pending.resize(need, 0.0);
            }
            self.emit_frame(&mut emit);
        }
    }

    fn emit_frame(&mut self, emit: &mut impl FnMut(&[f32])) {
        let input = &self.pending[self.start..self.start + self.n_fft];
        for ((dst, &x), &w) in self.frame.iter_mut().zip(input).zip(&self.window) {
            *dst = x * w;
        }
        // The buffers are sized by the plan itself, so processing cannot fail.
        self.fft
            .process_with_scratch(&mut self.frame, &mut self.spectrum, &mut self.scratch)
            .expect("FFT buffers sized by the plan");
        for (p, c) in self.power.iter_mut().zip(&self.spectrum) {
            *p = c.norm_sqr();
        }
        emit(&self.power);
        self.start += self.hop;
        self.frames_done += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count_frames(n: usize, chunk: usize) -> usize {
        let mut stft = PowerStft::new(512, 256);
        let signal = vec![0.1f32; n];
        let mut frames = 0;
        for piece in signal.chunks(chunk.max(1)) {
            stft.push(piece, |_| frames += 1);
        }
        stft.finish(|_| frames += 1);
        frames
    }

    #[test]
    fn frame_count_matches_librosa_center_true() {
        for n in [0, 1, 100, 255, 256, 257, 511, 512, 16_000, 16_001] {
            assert_eq!(count_frames(n, 1000), 1 + n / 256, "n = {n}");
            assert_eq!(count_frames(n, 7), 1 + n / 256, "n = {n}, small chunks");
        }
    }

    #[test]
    fn sine_energy_lands_in_its_bin() {
        // 1 kHz at 16 kHz with n_fft 512: bin 32 exactly.
        let x: Vec<f32> = (0..4096)
            .map(|n| (2.0 * std::f32::consts::PI * 1000.0 * n as f32 / 16_000.0).sin())
            .collect();
        let mut stft = PowerStft::new(512, 256);
        let mut peak_bins = Vec::new();
        stft.push(&x, |p| {
            let (bin, _) = p
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .unwrap();
            peak_bins.push(bin);
        });
        assert!(peak_bins.len() > 10);
        assert!(peak_bins[2..].iter().all(|&b| b == 32), "{peak_bins:?}");
    }
}
