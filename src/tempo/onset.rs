//! Onset strength: how much louder each mel band got since the previous frame, averaged over
//! the bands (librosa's `onset.onset_strength`: spectral flux of the dB mel spectrogram), from
//! the front end's mel power frames as they stream past.

/// Values below this power count as this power (librosa's `amin`), so dB stays finite.
const AMIN: f32 = 1e-10;

/// Bands more than this many dB below the loudest value seen so far are clipped to that level
/// (librosa's `top_db`), so that noise in near-silent bands does not count as onsets. librosa
/// clips against the whole spectrogram's maximum; streaming, the maximum so far stands in.
pub const TOP_DB: f32 = 80.0;

/// Builds the onset-strength envelope, one value per mel frame, in bounded work per frame.
#[derive(Debug, Clone)]
pub struct OnsetStrength {
    previous_db: Vec<f32>,
    current_db: Vec<f32>,
    loudest_db: f32,
    envelope: Vec<f32>,
}

impl OnsetStrength {
    /// An empty envelope for frames of `n_mels` bands.
    pub fn new(n_mels: usize) -> Self {
        OnsetStrength {
            previous_db: Vec::with_capacity(n_mels),
            current_db: vec![0.0; n_mels],
            loudest_db: f32::NEG_INFINITY,
            envelope: Vec::new(),
        }
    }

    /// Adds one frame of mel power values (`n_mels` of them).
    pub fn push(&mut self, power: &[f32]) {
        for (db, &p) in self.current_db.iter_mut().zip(power) {
            *db = 10.0 * p.max(AMIN).log10();
        }
        let frame_max = self
            .current_db
            .iter()
            .copied()
            .fold(f32::NEG_INFINITY, f32::max);
        self.loudest_db = self.loudest_db.max(frame_max);
        let floor = self.loudest_db - TOP_DB;
        let flux = if self.previous_db.is_empty() {
            0.0
        } else {
            let sum: f32 = self
                .current_db
                .iter()
                .zip(&self.previous_db)
                .map(|(&now, &before)| (now.max(floor) - before.max(floor)).max(0.0))
                .sum();
            sum / self.current_db.len() as f32
        };
        self.envelope.push(flux);
        self.previous_db.clear();
        self.previous_db.extend_from_slice(&self.current_db);
    }

    /// Frames pushed so far.
    pub fn len(&self) -> usize {
        self.envelope.len()
    }

    /// Whether no frame was pushed.
    pub fn is_empty(&self) -> bool {
        self.envelope.is_empty()
    }

    /// The envelope: one non-negative value (dB per band) per frame.
    pub fn finish(self) -> Vec<f32> {
        self.envelope
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rises_count_falls_do_not() {
        let mut o = OnsetStrength::new(2);
        o.push(&[1e-3, 1e-3]);
        o.push(&[1e-1, 1e-3]); // band 0 up 20 dB
        o.push(&[1e-3, 1e-3]); // back down: no onset
        let env = o.finish();
        assert_eq!(env[0], 0.0);
        assert!((env[1] - 10.0).abs() < 1e-4, "{env:?}");
        assert_eq!(env[2], 0.0);
    }

    #[test]
    fn gain_does_not_change_the_envelope() {
        let frames: Vec<[f32; 3]> = (0..50)
            .map(|t| {
                let beat = if t % 10 == 0 { 1.0 } else { 0.01 };
                [beat, 0.5 * beat, 0.02]
            })
            .collect();
        let run = |gain: f32| {
            let mut o = OnsetStrength::new(3);
            for f in &frames {
                o.push(&f.map(|p| p * gain));
            }
            o.finish()
        };
        let (a, b) = (run(1.0), run(0.01));
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() < 1e-3, "{x} vs {y}");
        }
    }
}
