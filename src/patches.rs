//! Cutting a stream of log-mel frames into model patches, with a bounded number kept.

use crate::mel::MelSpectrogram;

/// One model input: `patch_frames` consecutive log-mel frames.
#[derive(Debug, Clone, PartialEq)]
pub struct Patch {
    /// Index of the patch's first frame in the track (multiply by the hop for seconds).
    pub start_frame: usize,
    /// Band-major values, `[n_mels][patch_frames]`, the layout of the model's `[1, n_mels, T]`
    /// input. Frames past the end of a short track are 0 (silence after log compression).
    /// The front end cuts patches from mel power and then loudness-normalises and compresses
    /// them ([`crate::mel::loudness`]).
    pub data: Vec<f32>,
}

/// Collects patches from log-mel frames pushed one at a time.
///
/// Patches start every `patch_hop` frames. At most `max_patches` are kept: when more arrive, the
/// sampler keeps every second one and doubles its stride, so a track of any length ends with
/// between `max_patches / 2` and `max_patches` patches spread evenly over it, in bounded memory.
/// A track that fits without thinning also gets a final patch aligned to its end when the full
/// patches leave at least half a hop uncovered.
pub struct PatchSampler {
    n_mels: usize,
    patch_frames: usize,
    patch_hop: usize,
    max_patches: usize,
    /// The most recent frames, frame-major, starting at frame `window_start`.
    window: Vec<f32>,
    window_start: usize,
    frames_seen: usize,
    next_index: usize,
    stride: usize,
    kept: Vec<(usize, Patch)>,
}

impl PatchSampler {
    /// Creates a sampler for `n_mels`-band frames, patches of `patch_frames` frames every
    /// `patch_hop` frames, keeping at most `max_patches` (at least 2).
    pub fn new(n_mels: usize, patch_frames: usize, patch_hop: usize, max_patches: usize) -> Self {
        PatchSampler {
            n_mels,
            patch_frames,
            patch_hop,
            max_patches: max_patches.max(2),
            window: Vec::with_capacity(2 * patch_frames * n_mels),
            window_start: 0,
            frames_seen: 0,
            next_index: 0,
            stride: 1,
            kept: Vec::new(),
        }
    }

    /// Adds one frame of `n_mels` values.
    pub fn push(&mut self, frame: &[f32]) {
        debug_assert_eq!(frame.len(), self.n_mels);
        self.window.extend_from_slice(frame);
        self.frames_seen += 1;
        let start = self.next_index * self.patch_hop;
        if self.frames_seen == start + self.patch_frames {
            if self.next_index.is_multiple_of(self.stride) {
                let patch = self.cut(start);
                self.kept.push((self.next_index, patch));
                if self.kept.len() > self.max_patches {
                    self.stride *= 2;
                    let stride = self.stride;
                    self.kept.retain(|(i, _)| i.is_multiple_of(stride));
                }
            }
            self.next_index += 1;
        }
        // Keep only the frames a future patch (or the end-aligned one) can still need.
        let keep_from = (self.next_index * self.patch_hop)
            .min(self.frames_seen.saturating_sub(self.patch_frames));
        if keep_from > self.window_start + 2 * self.patch_frames {
            let drop = keep_from - self.window_start;
            self.window.drain(..drop * self.n_mels);
            self.window_start = keep_from;
        }
    }

    /// Number of frames pushed so far.
    pub fn frames_seen(&self) -> usize {
        self.frames_seen
    }

    /// Finishes the track and returns its patches in time order.
    pub fn finish(mut self) -> Vec<Patch> {
        if self.frames_seen == 0 {
            return Vec::new();
        }
        if self.frames_seen < self.patch_frames {
            // A short track: one patch, padded with silence.
            return vec![self.cut(0)];
        }
        let covered = self.next_index.saturating_sub(1) * self.patch_hop + self.patch_frames;
        let uncovered = self.frames_seen - covered;
        if self.stride == 1 && uncovered * 2 >= self.patch_hop {
            let start = self.frames_seen - self.patch_frames;
            let patch = self.cut(start);
            self.kept.push((usize::MAX, patch));
        }
        self.kept.into_iter().map(|(_, p)| p).collect()
    }

    /// Builds the band-major patch starting at frame `start` from the window.
    fn cut(&self, start: usize) -> Patch {
        let (n_mels, len) = (self.n_mels, self.patch_frames);
        let mut data = vec![0.0; n_mels * len];
        let available = self.frames_seen.min(start + len) - start;
        let offset = start - self.window_start;
        for t in 0..available {
            let frame = &self.window[(offset + t) * n_mels..(offset + t + 1) * n_mels];
            for (m, &v) in frame.iter().enumerate() {
                data[m * len + t] = v;
            }
        }
        Patch {
            start_frame: start,
            data,
        }
    }
}

/// A picture-sized log-mel spectrogram: at most `max_columns` columns, each the mean of
/// `frames_per_column` consecutive frames.
#[derive(Debug, Clone, PartialEq)]
pub struct MelOverview {
    /// Frames averaged into one column (a power of two).
    pub frames_per_column: usize,
    /// The columns, frame-major (`[columns][n_mels]`).
    pub mel: MelSpectrogram,
}

/// Builds a [`MelOverview`] from frames pushed one at a time, in bounded memory.
pub struct OverviewBuilder {
    n_mels: usize,
    max_columns: usize,
    frames_per_column: usize,
    columns: Vec<f32>,
    /// Sum of the frames of the column being filled, and how many there are.
    partial: Vec<f32>,
    partial_frames: usize,
}

impl OverviewBuilder {
    /// Creates a builder for `n_mels`-band frames and at most `max_columns` (≥ 2) columns.
    pub fn new(n_mels: usize, max_columns: usize) -> Self {
        OverviewBuilder {
            n_mels,
            max_columns: max_columns.max(2),
            frames_per_column: 1,
            columns: Vec::new(),
            partial: vec![0.0; n_mels],
            partial_frames: 0,
        }
    }

    /// Adds one frame of `n_mels` values.
    pub fn push(&mut self, frame: &[f32]) {
        self.partial
            .iter_mut()
            .zip(frame)
            .for_each(|(s, v)| *s += v);
        self.partial_frames += 1;
        if self.partial_frames == self.frames_per_column {
            self.flush_partial();
            if self.columns.len() / self.n_mels > self.max_columns {
                self.halve();
            }
        }
    }

    fn flush_partial(&mut self) {
        let scale = 1.0 / self.partial_frames as f32;
        self.columns.extend(self.partial.iter().map(|s| s * scale));
        self.partial.iter_mut().for_each(|s| *s = 0.0);
        self.partial_frames = 0;
    }

    /// Merges neighbouring columns pairwise, doubling the frames per column.
    fn halve(&mut self) {
        let n = self.n_mels;
        let pairs = self.columns.len() / (2 * n);
        for c in 0..pairs {
            for m in 0..n {
                self.columns[c * n + m] =
                    0.5 * (self.columns[2 * c * n + m] + self.columns[(2 * c + 1) * n + m]);
            }
        }
        // An odd last column becomes the start of the next (larger) column.
        let odd = self.columns.len() / n % 2 == 1;
        if odd {
            let last = self.columns[(2 * pairs) * n..(2 * pairs + 1) * n].to_vec();
            self.partial
                .iter_mut()
                .zip(&last)
                .for_each(|(s, v)| *s += v * self.frames_per_column as f32);
            self.partial_frames += self.frames_per_column;
        }
        self.columns.truncate(pairs * n);
        self.frames_per_column *= 2;
    }

    /// Returns the overview; a trailing partial column is averaged over the frames it has.
    pub fn finish(mut self) -> MelOverview {
        if self.partial_frames > 0 {
            self.flush_partial();
        }
        MelOverview {
            frames_per_column: self.frames_per_column,
            mel: MelSpectrogram::from_frames(self.n_mels, self.columns),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(n_frames: usize, max_patches: usize) -> Vec<Patch> {
        let mut s = PatchSampler::new(2, 10, 10, max_patches);
        for t in 0..n_frames {
            s.push(&[t as f32, -(t as f32)]);
        }
        s.finish()
    }

    #[test]
    fn patches_hold_the_right_frames_band_major() {
        let p = run(25, 100);
        let starts: Vec<_> = p.iter().map(|p| p.start_frame).collect();
        // Two full patches, then 5 uncovered frames (half a hop) -> an end-aligned patch.
        assert_eq!(starts, vec![0, 10, 15]);
        assert_eq!(
            &p[1].data[..10],
            &[10., 11., 12., 13., 14., 15., 16., 17., 18., 19.]
        );
        assert_eq!(p[1].data[10], -10.0);
        assert_eq!(p[2].data[0], 15.0);
        assert_eq!(p[2].data[9], 24.0);
    }

    #[test]
    fn short_tracks_get_one_padded_patch() {
        let p = run(4, 100);
        assert_eq!(p.len(), 1);
        assert_eq!(&p[0].data[..5], &[0., 1., 2., 3., 0.]);
        assert!(run(0, 100).is_empty());
    }

    #[test]
    fn long_tracks_are_thinned_evenly_within_the_cap() {
        let p = run(10 * 1000, 16);
        assert!(p.len() <= 16 && p.len() >= 8, "{}", p.len());
        let gaps: Vec<_> = p
            .windows(2)
            .map(|w| w[1].start_frame - w[0].start_frame)
            .collect();
        assert!(gaps.iter().all(|&g| g == gaps[0]), "{gaps:?}");
        assert!(
            p.last().unwrap().start_frame > 10 * 1000 / 2,
            "patches cover the whole track"
        );
        for patch in &p {
            assert_eq!(patch.data[0], patch.start_frame as f32);
        }
    }

    #[test]
    fn overview_averages_and_stays_bounded() {
        let mut b = OverviewBuilder::new(1, 8);
        for t in 0..100 {
            b.push(&[t as f32]);
        }
        let o = b.finish();
        assert!(o.mel.n_frames() <= 9, "{}", o.mel.n_frames());
        assert_eq!(o.frames_per_column, 16);
        // First column: mean of frames 0..16.
        assert!((o.mel.frame(0)[0] - 7.5).abs() < 1e-5);
        let mut b = OverviewBuilder::new(1, 8);
        for t in 0..5 {
            b.push(&[t as f32]);
        }
        let o = b.finish();
        assert_eq!(o.frames_per_column, 1);
        assert_eq!(o.mel.frames(), &[0., 1., 2., 3., 4.]);
    }
}
