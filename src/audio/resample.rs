//! Streaming sample-rate conversion of mono audio with rubato's FFT resampler.
//!
//! The browser's own resampler is never used: the page and the native indexer must produce the
//! same samples, so both run this code.

use audioadapter_buffers::direct::SequentialSlice;
use rubato::{Fft, FixedSync, Indexing, Resampler};

use crate::error::{Error, Result};

/// Input frames per resampler call; a few thousand keeps the FFT efficient and memory small.
const CHUNK_FRAMES: usize = 2048;

/// Converts a stream of mono samples from one fixed rate to another.
///
/// Produces exactly what `rubato`'s `process_all` would for the whole signal (startup delay
/// trimmed, `ceil(n · out_rate / in_rate)` samples in total), but with bounded memory.
pub struct StreamResampler {
    inner: Option<Fft<f32>>,
    ratio: f64,
    pending: Vec<f32>,
    out: Vec<f32>,
    to_trim: usize,
    frames_in: usize,
    frames_out: usize,
}

impl StreamResampler {
    /// Prepares a resampler from `from_hz` to `to_hz`. Equal rates pass samples through.
    pub fn new(from_hz: u32, to_hz: u32) -> Result<Self> {
        let inner = if from_hz == to_hz {
            None
        } else {
            let fft = Fft::<f32>::new(
                from_hz as usize,
                to_hz as usize,
                CHUNK_FRAMES,
                1,
                FixedSync::Input,
            )
            .map_err(|e| Error::Resample(format!("{from_hz} Hz → {to_hz} Hz: {e}")))?;
            Some(fft)
        };
        let to_trim = inner.as_ref().map_or(0, |r| r.output_delay());
        let out_max = inner.as_ref().map_or(0, |r| r.output_frames_max());
        Ok(StreamResampler {
            inner,
            ratio: f64::from(to_hz) / f64::from(from_hz),
            pending: Vec::with_capacity(CHUNK_FRAMES),
            out: vec![0.0; out_max],
            to_trim,
            frames_in: 0,
            frames_out: 0,
        })
    }

    /// Feeds `samples` and hands every finished output block to `emit`.
    pub fn push(&mut self, samples: &[f32], mut emit: impl FnMut(&[f32])) -> Result<()> {
        self.frames_in += samples.len();
        let Some(resampler) = self.inner.as_mut() else {
            self.frames_out += samples.len();
            emit(samples);
            return Ok(());
        };
        let mut rest = samples;
        while !rest.is_empty() {
            let need = resampler.input_frames_next() - self.pending.len();
            let take = need.min(rest.len());
            self.pending.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.pending.len() == resampler.input_frames_next() {
                let produced = run_chunk(resampler, &self.pending, None, &mut self.out)?;
                self.pending.clear();
                Self::deliver(
                    &self.out[..produced],
                    &mut self.to_trim,
                    &mut self.frames_out,
                    &mut emit,
                );
            }
        }
        Ok(())
    }

    /// Flushes the resampler's tail so the output has `ceil(n · ratio)` samples in total.
    pub fn finish(&mut self, mut emit: impl FnMut(&[f32])) -> Result<()> {
        let Some(resampler) = self.inner.as_mut() else {
            return Ok(());
        };
        let expected = (self.ratio * self.frames_in as f64).ceil() as usize;
        let mut partial = Some(self.pending.len());
        let mut guard = 0;
        while self.frames_out < expected {
            let produced = run_chunk(resampler, &self.pending, partial, &mut self.out)?;
            self.pending.clear();
            // After the real tail, feed silence (partial length 0) to push the delay out.
            partial = Some(0);
            let wanted = expected - self.frames_out;
            let mut block = &self.out[..produced];
            let skip = self.to_trim.min(block.len());
            block = &block[skip..];
            self.to_trim -= skip;
            let block = &block[..block.len().min(wanted)];
            self.frames_out += block.len();
            emit(block);
            guard += 1;
            if guard > 1_000 {
                return Err(Error::Resample("resampler did not drain".into()));
            }
        }
        Ok(())
    }

    fn deliver(
        block: &[f32],
        to_trim: &mut usize,
        frames_out: &mut usize,
        emit: &mut impl FnMut(&[f32]),
    ) {
        let skip = (*to_trim).min(block.len());
        *to_trim -= skip;
        let block = &block[skip..];
        *frames_out += block.len();
        if !block.is_empty() {
            emit(block);
        }
    }
}

fn run_chunk(
    resampler: &mut Fft<f32>,
    input: &[f32],
    partial: Option<usize>,
    out: &mut [f32],
) -> Result<usize> {
    let frames_needed = resampler.input_frames_next();
    // The adapter must cover the full chunk even when only `partial` frames are real.
    let mut padded;
    let input = if input.len() < frames_needed {
        padded = input.to_vec();
        padded.resize(frames_needed, 0.0);
        &padded[..]
    } else {
        input
    };
    let adapter_in = SequentialSlice::new(input, 1, frames_needed)
        .map_err(|e| Error::Resample(format!("input buffer: {e}")))?;
    let out_len = out.len();
    let mut adapter_out = SequentialSlice::new_mut(out, 1, out_len)
        .map_err(|e| Error::Resample(format!("output buffer: {e}")))?;
    let indexing = Indexing {
        partial_len: partial,
        ..Indexing::new()
    };
    let (_, produced) = resampler
        .process_into_buffer(&adapter_in, &mut adapter_out, Some(&indexing))
        .map_err(|e| Error::Resample(e.to_string()))?;
    Ok(produced)
}

/// Resamples a whole mono signal from `from_hz` to `to_hz` (convenience over [`StreamResampler`]).
pub fn resample(samples: &[f32], from_hz: u32, to_hz: u32) -> Result<Vec<f32>> {
    let mut r = StreamResampler::new(from_hz, to_hz)?;
    let mut out = Vec::with_capacity((samples.len() as f64 * r.ratio).ceil() as usize + 1);
    r.push(samples, |b| out.extend_from_slice(b))?;
    r.finish(|b| out.extend_from_slice(b))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(freq: f32, rate: u32, seconds: f32) -> Vec<f32> {
        let n = (rate as f32 * seconds) as usize;
        (0..n)
            .map(|i| (2.0 * std::f32::consts::PI * freq * i as f32 / rate as f32).sin() * 0.5)
            .collect()
    }

    #[test]
    fn output_length_is_ceil_of_ratio() {
        for (from, n) in [
            (44_100, 44_100),
            (48_000, 1000),
            (8_000, 12_345),
            (22_050, 7),
            (96_000, 100_000),
        ] {
            let out = resample(&vec![0.1; n], from, 16_000).unwrap();
            let expected = (n as f64 * 16_000.0 / from as f64).ceil() as usize;
            assert_eq!(out.len(), expected, "from {from} Hz, {n} samples");
        }
    }

    #[test]
    fn chunking_does_not_change_the_result() {
        let x = sine(1000.0, 44_100, 1.3);
        let whole = resample(&x, 44_100, 16_000).unwrap();
        let mut r = StreamResampler::new(44_100, 16_000).unwrap();
        let mut pieces = Vec::new();
        for c in x.chunks(777) {
            r.push(c, |b| pieces.extend_from_slice(b)).unwrap();
        }
        r.finish(|b| pieces.extend_from_slice(b)).unwrap();
        assert_eq!(whole, pieces);
    }

    #[test]
    fn sine_keeps_amplitude_and_phase_alignment() {
        // A 1 kHz sine at 48 kHz resampled to 16 kHz must still be a 1 kHz sine of amplitude 0.5,
        // aligned in time with the original (the startup delay is trimmed).
        let x = sine(1000.0, 48_000, 1.0);
        let y = resample(&x, 48_000, 16_000).unwrap();
        let reference = sine(1000.0, 16_000, 1.0);
        let mid = &y[2000..14_000];
        let err = mid
            .iter()
            .zip(&reference[2000..14_000])
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(err < 1e-3, "max error {err}");
    }

    #[test]
    fn content_above_the_new_nyquist_is_removed() {
        // 10 kHz is above 8 kHz (the Nyquist frequency at 16 kHz): it must not alias into the band.
        let x = sine(10_000.0, 44_100, 1.0);
        let y = resample(&x, 44_100, 16_000).unwrap();
        let rms = (y[1000..15_000].iter().map(|v| v * v).sum::<f32>() / 14_000.0).sqrt();
        assert!(rms < 0.01, "aliased rms {rms}");
    }
}
