//! The estimator itself (the `analysis` feature): onset strength → tempogram → a beat period
//! under the prior, folded and refined, with its confidence and sections (see the module
//! docs of [`super`]).

use super::*;
use crate::error::Result;
use crate::mel::MelSpectrogram;
use crate::params::AnalysisParams;

/// Multiples of the beat period the confidence looks at (the beat, and 3 more).
const COMB_MULTIPLES: usize = 4;
/// How far from twice or half the period a folded peak may lie, as a fraction.
const FOLD_TOLERANCE: f64 = 0.04;
/// Local tempi this far apart (ratio) start a new section.
const SECTION_CHANGE: f64 = 1.08;
/// Sections shorter than this are merged into their neighbour, in seconds.
const MIN_SECTION_SECONDS: f64 = 12.0;

/// The tempo of mono `samples` already at the analysis rate (`params.sample_rate_hz`), from
/// their mel power frames: what an analysis computes along the way, for callers without a
/// model. Errors as [`crate::mel::melspectrogram`] does.
pub fn tempo_of_samples(samples: &[f32], params: &AnalysisParams) -> Result<TempoEstimate> {
    let power = crate::mel::melspectrogram(samples, params)?;
    Ok(TempoEstimate::from_mel_power(&power, params))
}

impl TempoEstimate {
    /// Estimates the tempo from mel power frames computed with `params`.
    pub fn from_mel_power(power: &MelSpectrogram, params: &AnalysisParams) -> Self {
        let mut onsets = OnsetStrength::new(params.n_mels);
        for t in 0..power.n_frames() {
            onsets.push(power.frame(t));
        }
        TempoEstimate::from_onsets(&onsets.finish(), 1.0 / params.hop_seconds())
    }

    /// Estimates the tempo from an onset envelope (one value per frame, `frames_per_second`).
    pub fn from_onsets(envelope: &[f32], frames_per_second: f64) -> Self {
        if (envelope.len() as f64) < MIN_SECONDS * frames_per_second {
            return TempoEstimate::none();
        }
        let tg = Tempogram::new(&smooth(envelope), frames_per_second);
        let periodicity = tg.mean(true);
        let Some(lag) = best_lag(&tg, &periodicity) else {
            return TempoEstimate::none();
        };
        let bpm = tg.bpm_of_lag(lag) as f32;
        let confidence = (comb(&periodicity, lag) * onset_contrast(envelope)).clamp(0.0, 1.0);
        let sections = if confidence >= MIN_CONFIDENCE {
            sections(&tg)
        } else {
            Vec::new()
        };
        TempoEstimate {
            bpm,
            confidence,
            sections,
        }
    }
}

/// How much the strongest onsets stand out, 0–1: the envelope's 99th percentile above its
/// median, from 0 at 0.5 dB to 1 at 3 dB and more. Without it, a sustained chord's tiny,
/// perfectly regular ripples (the STFT frames sliding over steady sines) would read as a
/// confident beat: they are periodic, but nothing a listener hears as an onset.
fn onset_contrast(envelope: &[f32]) -> f32 {
    let mut values = envelope.to_vec();
    let n = values.len();
    let median = *values.select_nth_unstable_by(n / 2, f32::total_cmp).1;
    let top = *values
        .select_nth_unstable_by(n * 99 / 100, f32::total_cmp)
        .1;
    ((top - median - 0.5) / 2.5).clamp(0.0, 1.0)
}

/// The envelope averaged over [`SMOOTHING_FRAMES`] frames, centred.
fn smooth(envelope: &[f32]) -> Vec<f32> {
    let half = SMOOTHING_FRAMES / 2;
    (0..envelope.len())
        .map(|i| {
            let (a, b) = (i.saturating_sub(half), (i + half + 1).min(envelope.len()));
            envelope[a..b].iter().sum::<f32>() / (b - a) as f32
        })
        .collect()
}

/// The beat period, in frames (refined between frames), in the periodicity `row`: the lag
/// whose prior-weighted periodicity, plus half that of twice the lag, is largest (Ellis's
/// TPS2: a beat is also periodic at the bar's half, its double is less so), then folded into
/// [`REPORTED_MIN_BPM`]–[`REPORTED_MAX_BPM`].
fn best_lag(tg: &Tempogram, row: &[f32]) -> Option<f64> {
    let fps = tg.frames_per_second;
    let first = ((60.0 * fps / MAX_BPM).ceil() as usize).max(1);
    let last = ((60.0 * fps / MIN_BPM).floor() as usize).min(row.len().saturating_sub(2));
    let weighted = |lag: usize| {
        if lag >= row.len() {
            return 0.0;
        }
        let octaves = (tg.bpm_of_lag(lag as f64) / PRIOR_CENTRE_BPM).log2() / PRIOR_OCTAVES;
        (-0.5 * octaves * octaves).exp() * f64::from(row[lag].max(0.0))
    };
    let tps2 = |l: usize| {
        weighted(l) + 0.5 * weighted(2 * l) + 0.25 * (weighted(2 * l - 1) + weighted(2 * l + 1))
    };
    let best = (first..=last).max_by(|&a, &b| tps2(a).total_cmp(&tps2(b)))?;
    if row[best] <= 0.0 {
        return None;
    }
    let mut lag = refine(row, best);
    while tg.bpm_of_lag(lag) > REPORTED_MAX_BPM {
        let Some(slower) = peak_near(row, 2.0 * lag) else {
            break;
        };
        lag = slower;
    }
    // Onsets periodic at a lag are periodic at its double, so the slower fold above is always
    // sound; the faster one needs onsets at half the period too (a click every 1.2 s is 49 BPM,
    // not 98 with nothing on the off-beats).
    let at = |l: f64| row[(l.round() as usize).min(row.len() - 1)];
    while tg.bpm_of_lag(lag) < REPORTED_MIN_BPM {
        let Some(faster) = peak_near(row, 0.5 * lag) else {
            break;
        };
        if at(faster) <= 0.0 {
            break;
        }
        lag = faster;
    }
    Some(lag)
}

/// The highest lag of `row` within [`FOLD_TOLERANCE`] of `target` frames, refined; `None`
/// when that range lies outside the row.
fn peak_near(row: &[f32], target: f64) -> Option<f64> {
    let low = ((target * (1.0 - FOLD_TOLERANCE)).floor() as usize).max(2);
    let high = ((target * (1.0 + FOLD_TOLERANCE)).ceil() as usize).min(row.len().checked_sub(2)?);
    let best = (low..=high).max_by(|&a, &b| row[a].total_cmp(&row[b]))?;
    Some(refine(row, best))
}

/// `best` moved between frames to the top of a parabola through it and its neighbours.
fn refine(row: &[f32], best: usize) -> f64 {
    let (l, c, r) = (row[best - 1], row[best], row[best + 1]);
    let curvature = l - 2.0 * c + r;
    let shift = if curvature < 0.0 {
        (0.5 * (l - r) / curvature).clamp(-0.5, 0.5)
    } else {
        0.0
    };
    best as f64 + f64::from(shift)
}

/// How periodic `row` is at `lag` and its next multiples: the mean, over the multiples that
/// fit in the row (up to [`COMB_MULTIPLES`]), of its highest value within a frame of each.
/// A beat repeats at every multiple of its period; onsets at random gaps line up by chance at
/// one lag, rarely at four.
fn comb(row: &[f32], lag: f64) -> f32 {
    let values: Vec<f32> = (1..=COMB_MULTIPLES)
        .map(|k| (k as f64 * lag).round() as usize)
        .take_while(|&i| i >= 1 && i + 2 < row.len())
        .map(|i| row[i - 1].max(row[i]).max(row[i + 1]))
        .collect();
    if values.is_empty() {
        return 0.0;
    }
    values.iter().sum::<f32>() / values.len() as f32
}

/// Sections at their own tempo, from each window's best lag (median of five), when the tempo
/// changes; empty when it is steady.
fn sections(tg: &Tempogram) -> Vec<TempoSection> {
    let local: Vec<f64> = tg
        .rows
        .iter()
        .map(|row| best_lag(tg, row).map_or(0.0, |lag| tg.bpm_of_lag(lag)))
        .collect();
    let smoothed: Vec<f64> = (0..local.len())
        .map(|i| {
            let mut near: Vec<f64> = local[i.saturating_sub(2)..(i + 3).min(local.len())]
                .iter()
                .copied()
                .filter(|&b| b > 0.0)
                .collect();
            near.sort_by(f64::total_cmp);
            near.get(near.len() / 2).copied().unwrap_or(0.0)
        })
        .collect();
    let hop = if tg.starts.len() > 1 {
        (tg.starts[1] - tg.starts[0]) as f64 / tg.frames_per_second
    } else {
        0.0
    };
    let centre = |i: usize| tg.starts[i] as f64 / tg.frames_per_second + 0.5 * hop;
    // Runs of windows whose tempo stays within SECTION_CHANGE of the run's first.
    let mut runs: Vec<(usize, usize, f64)> = Vec::new();
    for (i, &bpm) in smoothed.iter().enumerate() {
        match runs.last_mut() {
            Some((_, end, run_bpm))
                if bpm <= 0.0 || (bpm / *run_bpm).max(*run_bpm / bpm) < SECTION_CHANGE =>
            {
                *end = i;
            }
            _ if bpm > 0.0 => runs.push((i, i, bpm)),
            _ => {}
        }
    }
    // Short runs join the run before them (or after, for the first).
    let min_windows = (MIN_SECTION_SECONDS / hop.max(1e-9)).ceil() as usize;
    let mut merged: Vec<(usize, usize, f64)> = Vec::new();
    for run in runs {
        let long = run.1 - run.0 + 1 >= min_windows;
        match merged.last_mut() {
            Some(last) if !long => last.1 = run.1,
            Some(last) if last.1 - last.0 + 1 < min_windows => *last = (last.0, run.1, run.2),
            _ => merged.push(run),
        }
    }
    if merged.len() < 2 {
        return Vec::new();
    }
    let window_seconds = tg.window as f64 / tg.frames_per_second;
    let end_of = |i: usize| tg.starts[i] as f64 / tg.frames_per_second + window_seconds;
    let count = merged.len();
    merged
        .iter()
        .enumerate()
        .map(|(k, &(first, last, bpm))| TempoSection {
            start_seconds: if k == 0 { 0.0 } else { centre(first) },
            end_seconds: if k + 1 == count {
                end_of(last)
            } else {
                centre(last + 1)
            },
            bpm: bpm as f32,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FPS: f64 = 62.5;

    /// An onset envelope with a 10 dB pulse every `60 / bpm` seconds (at the nearest frame).
    fn pulses(bpm: f64, seconds: f64) -> Vec<f32> {
        let n = (seconds * FPS) as usize;
        let mut env = vec![0.0f32; n];
        let mut t = 0.0;
        while t < seconds {
            let i = (t * FPS).round() as usize;
            if i < n {
                env[i] = 10.0;
            }
            t += 60.0 / bpm;
        }
        env
    }

    #[test]
    fn steady_pulses_give_their_tempo_within_one_percent() {
        for bpm in [62.0, 75.0, 90.0, 104.0, 120.0, 133.0, 150.0, 171.0] {
            let est = TempoEstimate::from_onsets(&pulses(bpm, 40.0), FPS);
            assert!(est.is_clear(), "{bpm}: {est:?}");
            let ratio = f64::from(est.bpm) / bpm;
            // Octave errors are the prior's business; the refined peak must be close.
            let off = [0.5, 1.0, 2.0]
                .iter()
                .map(|k| (ratio / k - 1.0).abs())
                .fold(f64::MAX, f64::min);
            assert!(off < 0.01, "{bpm}: estimated {}", est.bpm);
            assert!(est.sections.is_empty(), "{bpm}: {:?}", est.sections);
        }
    }

    #[test]
    fn no_onsets_short_input_and_noise_have_no_clear_tempo() {
        assert!(!TempoEstimate::from_onsets(&[0.0; 2000], FPS).is_clear());
        assert_eq!(
            TempoEstimate::from_onsets(&pulses(120.0, 3.0), FPS),
            TempoEstimate::none()
        );
        let mut state = 12345u64;
        let noise: Vec<f32> = (0..3000)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (state >> 40) as f32 / (1u64 << 24) as f32
            })
            .collect();
        let est = TempoEstimate::from_onsets(&noise, FPS);
        assert!(!est.is_clear(), "{est:?}");
    }

    #[test]
    fn tempi_outside_50_to_200_bpm_fold_only_onto_a_pulse_that_is_there() {
        // Hi-hats at 240 BPM: the beat is reported at 120.
        let fast = TempoEstimate::from_onsets(&pulses(240.0, 40.0), FPS);
        assert!(
            fast.is_clear() && (fast.bpm - 120.0).abs() < 1.5,
            "{fast:?}"
        );
        // A click every 1.33 s with nothing between: 45 BPM as it is, not 90.
        let slow = TempoEstimate::from_onsets(&pulses(45.0, 60.0), FPS);
        assert!(slow.is_clear() && (slow.bpm - 45.0).abs() < 0.5, "{slow:?}");
        // The same with a quieter click halfway: the pulse is there, 90 BPM.
        let mut both = pulses(45.0, 60.0);
        for (i, v) in pulses(90.0, 60.0).into_iter().enumerate() {
            both[i] = both[i].max(0.6 * v);
        }
        let doubled = TempoEstimate::from_onsets(&both, FPS);
        assert!(
            doubled.is_clear() && (doubled.bpm - 90.0).abs() < 1.0,
            "{doubled:?}"
        );
    }

    #[test]
    fn a_tempo_change_gives_two_sections() {
        let mut env = pulses(90.0, 40.0);
        env.extend(pulses(140.0, 40.0));
        let est = TempoEstimate::from_onsets(&env, FPS);
        assert_eq!(est.sections.len(), 2, "{est:?}");
        let (a, b) = (&est.sections[0], &est.sections[1]);
        assert!((f64::from(a.bpm) / 90.0 - 1.0).abs() < 0.02, "{a:?}");
        assert!((f64::from(b.bpm) / 140.0 - 1.0).abs() < 0.02, "{b:?}");
        assert!((a.end_seconds - 40.0).abs() < 5.0 && a.end_seconds == b.start_seconds);
        assert!(b.end_seconds > 75.0);
    }
}
