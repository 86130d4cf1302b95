//! Spectral peaks of the front end's power frames: the points a version keeps whatever was
//! done to it (re-encoding, gain, a fade, a little tempo or pitch change), from which
//! [`super::landmarks`] builds its hashes.
//!
//! A peak is a bin that is the largest of its neighbourhood (±[`FREQ_RADIUS`] bins,
//! ±[`TIME_RADIUS`] frames) in log power, between [`PEAK_MIN_HZ`] and [`PEAK_MAX_HZ`]. Its
//! strength is its log power above the mean of its frame's band (so gain changes nothing); of
//! every second's peaks the [`PEAKS_PER_SECOND`] strongest are kept, so a quiet intro keeps as
//! many as a loud chorus. Frequency and time are refined by parabolic interpolation of the log
//! power: a pitch or tempo estimate between two versions is finer than a bin or a frame.

use std::collections::VecDeque;

/// Lowest peak frequency, in Hz. Below it the 31.25 Hz bins of the analysis STFT (16 kHz,
/// 512 points) are wider than a semitone, and bass and drums smear.
pub const PEAK_MIN_HZ: f32 = 300.0;
/// Highest peak frequency, in Hz: above it low bit-rate codecs cut or smear the spectrum.
pub const PEAK_MAX_HZ: f32 = 5_000.0;
/// Half-width of a peak's neighbourhood in frequency, in bins.
pub const FREQ_RADIUS: usize = 3;
/// Half-width of a peak's neighbourhood in time, in frames (7 × 16 ms).
pub const TIME_RADIUS: usize = 7;
/// Peaks kept per second of audio (the strongest).
pub const PEAKS_PER_SECOND: usize = 12;
/// Pitch units per octave: a quarter of a semitone.
pub const PITCH_UNITS_PER_OCTAVE: f32 = 48.0;

/// How far below its frame's loudest bin a peak may be, in natural-log power (60 dB): what
/// lies further down is leakage and noise, and would make the peaks depend on the gain.
const DYNAMIC_RANGE: f32 = 13.8;

/// Power below which a bin is silence (full scale ≈ 1e4 with the analysis STFT's scaling);
/// peaks of digital silence or dither would match anything.
const POWER_FLOOR: f32 = 1e-7;

/// One spectral peak.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Peak {
    /// Time, in frames (one per hop of the analysis STFT), refined.
    pub frame: f32,
    /// Pitch, in quarter-semitones above [`PEAK_MIN_HZ`], refined.
    pub pitch: f32,
    /// Log power (natural log) above the mean of its frame's band.
    pub strength: f32,
}

/// Finds peaks in a stream of power frames (all of one length: `n_fft / 2 + 1` bins).
pub struct PeakPicker {
    /// First and one-past-last bin of the band.
    lo: usize,
    hi: usize,
    bin_hz: f32,
    frames_per_second: f32,
    /// The last `2 · TIME_RADIUS + 1` frames' log power over the band, oldest first, and each
    /// frame's running maximum over ±FREQ_RADIUS bins.
    log: VecDeque<Vec<f32>>,
    fmax: VecDeque<Vec<f32>>,
    means: VecDeque<f32>,
    /// The largest log power of each held frame's band.
    loudest: VecDeque<f32>,
    /// Frames pushed so far, and frames scanned for peaks (the next one to scan).
    frames: usize,
    scanned: usize,
    /// Peaks of the second being collected, and every kept peak.
    second: Vec<Peak>,
    second_index: usize,
    kept: Vec<Peak>,
}

impl PeakPicker {
    /// A picker for power frames of an STFT at `sample_rate_hz` with `n_fft` points and a hop
    /// of `hop` samples.
    pub fn new(sample_rate_hz: u32, n_fft: usize, hop: usize) -> Self {
        let bin_hz = sample_rate_hz as f32 / n_fft as f32;
        let n_freqs = n_fft / 2 + 1;
        let lo = ((PEAK_MIN_HZ / bin_hz).ceil() as usize).max(1);
        let hi = ((PEAK_MAX_HZ / bin_hz).floor() as usize + 1).min(n_freqs - 1);
        PeakPicker {
            lo,
            hi: hi.max(lo + 1),
            bin_hz,
            frames_per_second: sample_rate_hz as f32 / hop as f32,
            log: VecDeque::new(),
            fmax: VecDeque::new(),
            means: VecDeque::new(),
            loudest: VecDeque::new(),
            frames: 0,
            scanned: 0,
            second: Vec::new(),
            second_index: 0,
            kept: Vec::new(),
        }
    }

    /// Takes the next power frame.
    pub fn push(&mut self, power: &[f32]) {
        let band = &power[self.lo..self.hi.min(power.len())];
        // The oldest frame's buffers are reused for the new one (no allocation per frame).
        let (mut log, mut fmax) = if self.log.len() == 2 * TIME_RADIUS + 1 {
            self.means.pop_front();
            self.loudest.pop_front();
            (
                self.log.pop_front().unwrap_or_default(),
                self.fmax.pop_front().unwrap_or_default(),
            )
        } else {
            (Vec::new(), Vec::new())
        };
        log.clear();
        log.extend(band.iter().map(|&p| p.max(POWER_FLOOR).ln()));
        let mean = log.iter().sum::<f32>() / log.len().max(1) as f32;
        let loudest = log.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        running_max(&log, FREQ_RADIUS, &mut fmax);
        self.log.push_back(log);
        self.fmax.push_back(fmax);
        self.means.push_back(mean);
        self.loudest.push_back(loudest);
        self.frames += 1;
        if self.log.len() > TIME_RADIUS {
            // The frame TIME_RADIUS back now has its whole neighbourhood.
            let centre = self.log.len() - 1 - TIME_RADIUS;
            self.scan(centre, self.scanned);
        }
    }

    /// The peaks of everything pushed, in time order.
    pub fn finish(mut self) -> Vec<Peak> {
        // The last frames (up to TIME_RADIUS) have no frames after them: scan them now.
        while self.scanned < self.frames {
            let centre = self.log.len() - (self.frames - self.scanned);
            self.scan(centre, self.scanned);
        }
        self.close_second();
        self.kept.sort_by(|a, b| a.frame.total_cmp(&b.frame));
        self.kept
    }

    /// Frames per second of the stream (the hop's rate).
    pub fn frames_per_second(&self) -> f32 {
        self.frames_per_second
    }

    /// Looks for peaks in held frame `centre` (stream frame `frame`).
    fn scan(&mut self, centre: usize, frame: usize) {
        self.scanned = frame + 1;
        let second = (frame as f32 / self.frames_per_second) as usize;
        if second != self.second_index {
            self.close_second();
            self.second_index = second;
        }
        let row = &self.log[centre];
        for k in 1..row.len().saturating_sub(1) {
            let v = row[k];
            // Above silence, and the largest of ±FREQ_RADIUS bins.
            if v <= POWER_FLOOR.ln() + 1.0
                || v < self.loudest[centre] - DYNAMIC_RANGE
                || v < self.fmax[centre][k]
                || v <= row[k - 1]
            {
                continue;
            }
            // The largest of its neighbourhood; of equal values in time the earliest wins.
            let beaten = self
                .fmax
                .iter()
                .enumerate()
                .any(|(i, m)| i != centre && (m[k] > v || (i < centre && m[k] == v)));
            if beaten {
                continue;
            }
            let df = parabolic(row[k - 1], v, row[k + 1]);
            let dt = if centre > 0 && centre + 1 < self.log.len() {
                parabolic(self.log[centre - 1][k], v, self.log[centre + 1][k])
            } else {
                0.0
            };
            let hz = (self.lo + k) as f32 * self.bin_hz + df * self.bin_hz;
            self.second.push(Peak {
                frame: frame as f32 + dt,
                pitch: PITCH_UNITS_PER_OCTAVE * (hz / PEAK_MIN_HZ).log2(),
                strength: v - self.means[centre],
            });
        }
    }

    /// Keeps the strongest [`PEAKS_PER_SECOND`] peaks of the second just collected.
    fn close_second(&mut self) {
        let mut peaks = std::mem::take(&mut self.second);
        peaks.sort_by(|a, b| b.strength.total_cmp(&a.strength));
        peaks.truncate(PEAKS_PER_SECOND);
        self.kept.extend(peaks);
    }
}

/// The maximum of `x` over `±radius` around each index, into `out`.
fn running_max(x: &[f32], radius: usize, out: &mut Vec<f32>) {
    out.clear();
    out.extend((0..x.len()).map(|i| {
        let (a, b) = (i.saturating_sub(radius), (i + radius + 1).min(x.len()));
        x[a..b].iter().copied().fold(f32::NEG_INFINITY, f32::max)
    }));
}

/// Offset of the vertex of the parabola through `(−1, a), (0, b), (1, c)`, in −0.5..0.5.
fn parabolic(a: f32, b: f32, c: f32) -> f32 {
    let d = a - 2.0 * b + c;
    if d >= 0.0 {
        return 0.0; // not a maximum (flat): no refinement
    }
    (0.5 * (a - c) / d).clamp(-0.5, 0.5)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mel::stft::PowerStft;

    /// Peaks of `samples` (16 kHz) through the analysis STFT (512 points, hop 256).
    fn peaks_of(samples: &[f32]) -> Vec<Peak> {
        let mut stft = PowerStft::new(512, 256);
        let mut picker = PeakPicker::new(16_000, 512, 256);
        stft.push(samples, |p| picker.push(p));
        stft.finish(|p| picker.push(p));
        picker.finish()
    }

    /// Four notes of 0.5 s: 440, 660, 880, 550 Hz.
    fn melody(gain: f32) -> Vec<f32> {
        [440.0f32, 660.0, 880.0, 550.0]
            .iter()
            .flat_map(|&hz| {
                (0..8000).map(move |i| {
                    let t = i as f32 / 16_000.0;
                    let envelope = (1.0 - t * 1.5).max(0.1); // a decaying note
                    gain * envelope * (std::f32::consts::TAU * hz * t).sin()
                })
            })
            .collect()
    }

    #[test]
    fn peaks_sit_on_the_notes_and_ignore_gain() {
        let peaks = peaks_of(&melody(0.5));
        let pitch = |hz: f32| PITCH_UNITS_PER_OCTAVE * (hz / PEAK_MIN_HZ).log2();
        for (i, hz) in [440.0f32, 660.0, 880.0, 550.0].into_iter().enumerate() {
            let (from, to) = (i as f32 * 31.25, (i + 1) as f32 * 31.25); // frames of the note
            let near = peaks
                .iter()
                .filter(|p| p.frame >= from && p.frame < to)
                .any(|p| (p.pitch - pitch(hz)).abs() < 0.5);
            assert!(
                near,
                "no peak within ⅛ semitone of {hz} Hz in frames {from}..{to}: {peaks:?}"
            );
        }
        // 20 dB quieter: the same peaks (strengths are relative to their frame).
        let quiet = peaks_of(&melody(0.05));
        assert_eq!(quiet.len(), peaks.len());
        for (a, b) in peaks.iter().zip(&quiet) {
            // (The time refinement of a near-flat note moves with float rounding.)
            assert!(
                (a.frame - b.frame).abs() < 0.1 && (a.pitch - b.pitch).abs() < 0.01,
                "{a:?} vs {b:?}"
            );
        }
    }

    #[test]
    fn silence_has_no_peaks_and_every_second_keeps_at_most_its_share() {
        assert!(peaks_of(&vec![0.0; 32_000]).is_empty());
        let noise: Vec<f32> = (0..80_000u32)
            .map(|i| ((i.wrapping_mul(2_654_435_761) >> 16) as f32 / 65_536.0 - 0.5) * 0.3)
            .collect();
        let peaks = peaks_of(&noise);
        let seconds = 5;
        assert!(
            peaks.len() <= (seconds + 1) * PEAKS_PER_SECOND,
            "{} peaks",
            peaks.len()
        );
        assert!(peaks.windows(2).all(|w| w[0].frame <= w[1].frame));
    }
}
