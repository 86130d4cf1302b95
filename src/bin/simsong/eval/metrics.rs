//! The measures of `simsong eval`: MFCC vectors, z-scoring, precision at k of same-collection
//! retrieval, instrument accuracy, and the logistic regression of the MFCC baseline.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use simsong::frontend::Features;

use super::mfcc::{Mfcc, mel_power_from_log};
use super::{Analysed, KS};

/// 40-d MFCC mean/std over every analysed frame of the track (each frame once, none past the end).
pub(super) fn mfcc_vector(
    mfcc: &Mfcc,
    f: &Features,
    n_mels: usize,
    log_gain: f32,
) -> Option<Vec<f32>> {
    let mut frames: BTreeMap<usize, Vec<f32>> = BTreeMap::new();
    for p in &f.patches {
        let patch_frames = p.data.len() / n_mels;
        for t in 0..patch_frames {
            let abs = p.start_frame + t;
            if abs >= f.n_frames || frames.contains_key(&abs) {
                continue;
            }
            // patch data is band-major [n_mels][patch_frames]
            let frame = (0..n_mels)
                .map(|m| mel_power_from_log(p.data[m * patch_frames + t], log_gain))
                .collect();
            frames.insert(abs, frame);
        }
    }
    let flat: Vec<f32> = frames.into_values().flatten().collect();
    mfcc.mean_std(&flat)
}

pub(super) fn zscore_stats(vs: &[Vec<f32>]) -> (Vec<f32>, Vec<f32>) {
    let d = vs.first().map_or(0, Vec::len);
    let n = vs.len().max(1) as f64;
    let mut mu = vec![0f64; d];
    vs.iter()
        .for_each(|v| mu.iter_mut().zip(v).for_each(|(m, &x)| *m += f64::from(x)));
    mu.iter_mut().for_each(|m| *m /= n);
    let mut var = vec![0f64; d];
    vs.iter().for_each(|v| {
        var.iter_mut()
            .zip(v.iter().zip(&mu))
            .for_each(|(s, (&x, m))| *s += (f64::from(x) - m).powi(2))
    });
    (
        mu.iter().map(|&m| m as f32).collect(),
        var.iter()
            .map(|&s| ((s / n).sqrt() as f32).max(1e-8))
            .collect(),
    )
}

pub(super) fn zscore(v: &mut [f32], mu: &[f32], sd: &[f32]) {
    v.iter_mut()
        .zip(mu.iter().zip(sd))
        .for_each(|(x, (m, s))| *x = (*x - m) / s);
}

pub(super) fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb).max(1e-12)
}

/// Mean precision at each of [`KS`] over queries with at least one other same-label item.
pub(super) fn precision_at(vecs: &[Vec<f32>], labels: &[&str]) -> [f64; 3] {
    let mut sums = [0f64; 3];
    let mut queries = 0usize;
    for (i, q) in vecs.iter().enumerate() {
        if !labels
            .iter()
            .enumerate()
            .any(|(j, l)| j != i && *l == labels[i])
        {
            continue;
        }
        queries += 1;
        let mut ranked: Vec<(f32, usize)> = vecs
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(j, v)| (cosine(q, v), j))
            .collect();
        // ties broken by index, so the result never depends on the sort's stability
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        for (s, &k) in sums.iter_mut().zip(&KS) {
            let hits = ranked
                .iter()
                .take(k)
                .filter(|(_, j)| labels[*j] == labels[i])
                .count();
            *s += hits as f64 / k as f64;
        }
    }
    sums.map(|s| if queries > 0 { s / queries as f64 } else { 0.0 })
}

pub(super) fn p_json(p: &[f64; 3]) -> Value {
    json!({"p_at_1": p[0], "p_at_5": p[1], "p_at_10": p[2]})
}

pub(super) fn argmax(v: &[f32]) -> usize {
    v.iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(&a.0)))
        .map_or(0, |(i, _)| i)
}

pub(super) fn accuracy_report(
    items: &[(usize, &Analysed)],
    pred: &[usize],
    classes: &[String],
) -> Value {
    let correct = items.iter().zip(pred).filter(|((y, _), p)| y == *p).count();
    let mut per_class = serde_json::Map::new();
    for (c, name) in classes.iter().enumerate() {
        let n = items.iter().filter(|(y, _)| *y == c).count();
        let ok = items
            .iter()
            .zip(pred)
            .filter(|((y, _), p)| *y == c && **p == c)
            .count();
        if n > 0 {
            per_class.insert(name.clone(), json!(ok as f64 / n as f64));
        }
    }
    json!({"accuracy": correct as f64 / items.len().max(1) as f64, "per_class": per_class})
}

/// Multinomial logistic regression, full-batch gradient descent from zero (deterministic).
pub(super) struct Logistic {
    w: Vec<Vec<f64>>,
    b: Vec<f64>,
}

impl Logistic {
    pub(super) fn fit(xs: &[Vec<f32>], ys: &[usize], n_classes: usize) -> Self {
        const STEPS: usize = 2000;
        const LR: f64 = 0.5;
        const L2: f64 = 1e-3;
        let d = xs.first().map_or(0, Vec::len);
        let mut m = Logistic {
            w: vec![vec![0.0; d]; n_classes],
            b: vec![0.0; n_classes],
        };
        let n = xs.len().max(1) as f64;
        for _ in 0..STEPS {
            let mut gw = vec![vec![0.0; d]; n_classes];
            let mut gb = vec![0.0; n_classes];
            for (x, &y) in xs.iter().zip(ys) {
                let p = softmax(&m.logits(x));
                for c in 0..n_classes {
                    let g = p[c] - if c == y { 1.0 } else { 0.0 };
                    gb[c] += g;
                    gw[c]
                        .iter_mut()
                        .zip(x)
                        .for_each(|(w, &xi)| *w += g * f64::from(xi));
                }
            }
            for c in 0..n_classes {
                m.b[c] -= LR * gb[c] / n;
                for (w, g) in m.w[c].iter_mut().zip(&gw[c]) {
                    *w -= LR * (g / n + L2 * *w);
                }
            }
        }
        m
    }

    fn logits(&self, x: &[f32]) -> Vec<f64> {
        self.w
            .iter()
            .zip(&self.b)
            .map(|(w, b)| {
                b + w
                    .iter()
                    .zip(x)
                    .map(|(w, &xi)| w * f64::from(xi))
                    .sum::<f64>()
            })
            .collect()
    }

    pub(super) fn scores(&self, x: &[f32]) -> Vec<f32> {
        self.logits(x).iter().map(|&v| v as f32).collect()
    }
}

pub(super) fn softmax(v: &[f64]) -> Vec<f64> {
    let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = v.iter().map(|x| (x - max).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|x| x / s).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precision_counts_same_label_neighbours() {
        let v = vec![
            vec![1.0, 0.0],
            vec![0.9, 0.1],
            vec![0.0, 1.0],
            vec![0.1, 0.9],
        ];
        let p = precision_at(&v, &["a", "a", "b", "b"]);
        assert_eq!(p[0], 1.0);
        // with 3 candidates, P@5 counts the 1 hit over 5
        assert!((p[1] - 0.2).abs() < 1e-12);
        let p = precision_at(&v, &["a", "b", "a", "c"]);
        // queries 0 and 2 (label a); each ranks the other a last of three
        assert_eq!(p[0], 0.0);
    }

    #[test]
    fn logistic_separates_two_blobs() {
        let xs = vec![
            vec![1.0, 0.0],
            vec![1.2, 0.1],
            vec![-1.0, 0.0],
            vec![-0.8, -0.2],
        ];
        let m = Logistic::fit(&xs, &[0, 0, 1, 1], 2);
        assert_eq!(argmax(&m.scores(&[0.9, 0.0])), 0);
        assert_eq!(argmax(&m.scores(&[-0.9, 0.0])), 1);
    }
}
