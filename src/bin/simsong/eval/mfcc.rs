//! MFCCs from the product's mel power spectrogram, as `librosa.feature.mfcc` computes them.
//!
//! `librosa.feature.mfcc(S=librosa.power_to_db(mel_power), n_mfcc, dct_type=2, norm='ortho')`:
//! decibels `10·log10(max(S, 1e-10))` floored at 80 dB below the spectrogram's maximum, then an
//! orthonormal DCT-II over the mel axis of every frame, keeping the first `n_mfcc` coefficients.
//! Used as the classic baseline that the trained model is measured against (`simsong eval`); it
//! lives with the CLI, not in the library a page loads.

/// Smallest power `power_to_db` takes the logarithm of (librosa's `amin`).
pub const AMIN: f32 = 1e-10;
/// Dynamic range kept by `power_to_db` (librosa's `top_db`), in dB.
pub const TOP_DB: f32 = 80.0;

/// `librosa.power_to_db(power, ref=1.0, amin=1e-10, top_db=80.0)` over a whole spectrogram.
pub fn power_to_db(power: &[f32]) -> Vec<f32> {
    let mut db: Vec<f32> = power.iter().map(|&p| 10.0 * p.max(AMIN).log10()).collect();
    let max = db.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if max.is_finite() {
        let floor = max - TOP_DB;
        db.iter_mut().for_each(|v| *v = v.max(floor));
    }
    db
}

/// Inverts the model input's log compression `log10(1 + gain · power)` back to mel power.
pub fn mel_power_from_log(log_mel: f32, log_gain: f32) -> f32 {
    ((10f64.powf(f64::from(log_mel)) - 1.0) / f64::from(log_gain)).max(0.0) as f32
}

/// Orthonormal DCT-II basis and the per-frame transform.
#[derive(Debug, Clone)]
pub struct Mfcc {
    n_mels: usize,
    n_mfcc: usize,
    /// `[n_mfcc][n_mels]`, row `k` is the `k`-th orthonormal DCT-II basis vector.
    basis: Vec<f32>,
}

impl Mfcc {
    /// A transform from `n_mels` bands to the first `n_mfcc` (≤ `n_mels`) coefficients.
    pub fn new(n_mels: usize, n_mfcc: usize) -> Self {
        assert!(
            n_mfcc >= 1 && n_mfcc <= n_mels,
            "need 1 <= n_mfcc <= n_mels"
        );
        let n = n_mels as f64;
        let mut basis = Vec::with_capacity(n_mfcc * n_mels);
        for k in 0..n_mfcc {
            let scale = if k == 0 {
                (1.0 / n).sqrt()
            } else {
                (2.0 / n).sqrt()
            };
            for i in 0..n_mels {
                let angle = std::f64::consts::PI * k as f64 * (2.0 * i as f64 + 1.0) / (2.0 * n);
                basis.push((scale * angle.cos()) as f32);
            }
        }
        Mfcc {
            n_mels,
            n_mfcc,
            basis,
        }
    }

    /// DCT-II (ortho) of one frame of `n_mels` values into `out` (`n_mfcc` values).
    pub fn dct_frame(&self, frame: &[f32], out: &mut [f32]) {
        assert_eq!(frame.len(), self.n_mels);
        for (o, row) in out.iter_mut().zip(self.basis.chunks_exact(self.n_mels)) {
            *o = row.iter().zip(frame).map(|(b, x)| b * x).sum();
        }
    }

    /// MFCCs of a frame-major mel power spectrogram (`[frames][n_mels]`), frame-major
    /// `[frames][n_mfcc]`, exactly as `librosa.feature.mfcc(S=power_to_db(S))` (transposed).
    pub fn of_mel_power(&self, frames: &[f32]) -> Vec<f32> {
        let db = power_to_db(frames);
        let n_frames = db.len() / self.n_mels;
        let mut out = vec![0.0; n_frames * self.n_mfcc];
        for (frame, o) in db
            .chunks_exact(self.n_mels)
            .zip(out.chunks_exact_mut(self.n_mfcc))
        {
            self.dct_frame(frame, o);
        }
        out
    }

    /// The classic track descriptor: per-coefficient mean and (population) standard deviation
    /// over frames, `[mean_0 … mean_{n-1}, std_0 … std_{n-1}]`. `None` for no frames.
    pub fn mean_std(&self, frames: &[f32]) -> Option<Vec<f32>> {
        let coeffs = self.of_mel_power(frames);
        let n = coeffs.len() / self.n_mfcc;
        if n == 0 {
            return None;
        }
        let mut mean = vec![0f64; self.n_mfcc];
        for row in coeffs.chunks_exact(self.n_mfcc) {
            mean.iter_mut()
                .zip(row)
                .for_each(|(m, &v)| *m += f64::from(v));
        }
        mean.iter_mut().for_each(|m| *m /= n as f64);
        let mut var = vec![0f64; self.n_mfcc];
        for row in coeffs.chunks_exact(self.n_mfcc) {
            var.iter_mut()
                .zip(row.iter().zip(&mean))
                .for_each(|(s, (&v, m))| *s += (f64::from(v) - m).powi(2));
        }
        let mut out: Vec<f32> = mean.iter().map(|&m| m as f32).collect();
        out.extend(var.iter().map(|&s| (s / n as f64).sqrt() as f32));
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dct_basis_is_orthonormal() {
        let m = Mfcc::new(96, 96);
        for a in 0..96 {
            for b in 0..96 {
                let dot: f64 = (0..96)
                    .map(|i| f64::from(m.basis[a * 96 + i]) * f64::from(m.basis[b * 96 + i]))
                    .sum();
                let want = if a == b { 1.0 } else { 0.0 };
                assert!((dot - want).abs() < 1e-5, "rows {a},{b}: {dot}");
            }
        }
    }

    #[test]
    fn dct_matches_scipy_ortho_definition() {
        // scipy.fft.dct([1, 2, 3, 4], type=2, norm='ortho') = [5, -2.2304425, 0, -0.15851267]
        let m = Mfcc::new(4, 4);
        let mut out = [0.0; 4];
        m.dct_frame(&[1.0, 2.0, 3.0, 4.0], &mut out);
        let want = [5.0, -2.230_442_5, 0.0, -0.158_512_67];
        for (o, w) in out.iter().zip(want) {
            assert!((o - w).abs() < 1e-5, "{out:?}");
        }
    }

    #[test]
    fn constant_spectrum_has_only_c0() {
        // A flat 1.0 power spectrum is 0 dB everywhere: all coefficients 0.
        let m = Mfcc::new(8, 4);
        let c = m.of_mel_power(&[1.0; 16]);
        assert!(c.iter().all(|v| v.abs() < 1e-6), "{c:?}");
        // Flat 0.01 (-20 dB): c0 = -20·sqrt(8), the rest 0.
        let c = m.of_mel_power(&[0.01; 8]);
        assert!((c[0] + 20.0 * 8f32.sqrt()).abs() < 1e-3, "{c:?}");
        assert!(c[1..].iter().all(|v| v.abs() < 1e-4), "{c:?}");
    }

    #[test]
    fn power_to_db_floors_at_top_db_below_max() {
        let db = power_to_db(&[1.0, 1e-12, 1e-3, 0.0]);
        let want = [0.0, -80.0, -30.0, -80.0];
        for (d, w) in db.iter().zip(want) {
            assert!((d - w).abs() < 1e-4, "{db:?}");
        }
    }

    #[test]
    fn log_compression_round_trips() {
        for p in [0.0f32, 1e-8, 1e-4, 0.5, 30.0] {
            let x = (1.0 + 1e4 * p).log10();
            let back = mel_power_from_log(x, 1e4);
            assert!((back - p).abs() <= 1e-3 * p + 1e-9, "{p} -> {back}");
        }
    }

    #[test]
    fn matches_librosa_mfcc() {
        // librosa 0.11: S[m, t] = exp(-m/20)·(1 + 0.5·sin(0.3m + t))·10^-t (float32), S[90.., 3] = 0,
        // librosa.feature.mfcc(S=librosa.power_to_db(S), n_mfcc=20), frames 0 and 3
        let (n_mels, n_frames) = (96, 4);
        let mut frames = vec![0f32; n_mels * n_frames];
        for t in 0..n_frames {
            for m in 0..n_mels {
                let (mf, tf) = (m as f64, t as f64);
                let v = (-mf / 20.0).exp() * (1.0 + 0.5 * (0.3 * mf + tf).sin()) * 10f64.powf(-tf);
                frames[t * n_mels + m] = if t == 3 && m >= 90 { 0.0 } else { v as f32 };
            }
        }
        let want: [(usize, [f32; 20]); 2] = [
            (
                0,
                [
                    -102.44, 58.565, 2.3253, 6.5409, 2.7258, 2.3968, 3.8356, 1.3111, 9.0959,
                    2.4888, -11.218, 0.28237, -2.8915, 0.21571, -1.4465, 0.12529, -0.75399,
                    -0.040071, 1.2614, 0.52522,
                ],
            ),
            (
                3,
                [
                    -416.33, 82.318, -25.51, 29.119, -24.184, 22.724, -22.588, 18.488, -24.421,
                    14.737, -0.07318, 10.014, -4.3981, 5.9621, -1.9556, 2.3016, 0.9278, -0.70461,
                    4.9998, -3.0935,
                ],
            ),
        ];
        let c = Mfcc::new(n_mels, 20).of_mel_power(&frames);
        for (t, w) in want {
            for (k, w) in w.iter().enumerate() {
                let got = c[t * 20 + k];
                assert!(
                    (got - w).abs() <= 1e-3 + 1e-4 * w.abs(),
                    "frame {t} c{k}: {got} vs {w}"
                );
            }
        }
    }

    #[test]
    fn mean_std_of_two_frames() {
        let m = Mfcc::new(2, 1);
        // c0 of a flat frame at d dB is d·sqrt(2); frames at 0 dB and -10 dB.
        let v = m.mean_std(&[1.0, 1.0, 0.1, 0.1]).unwrap();
        let s2 = 2f32.sqrt();
        assert!(
            (v[0] + 5.0 * s2).abs() < 1e-4 && (v[1] - 5.0 * s2).abs() < 1e-4,
            "{v:?}"
        );
        assert!(m.mean_std(&[]).is_none());
    }
}
