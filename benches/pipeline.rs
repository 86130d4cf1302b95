//! Native timings of the pipeline stages, printed as JSON for `scripts/bench.sh`.
//!
//! `cargo bench --bench pipeline -- CLIP16K.wav LONG_CLIP16K.wav CLIP44K.wav MODEL.onnx...`
//! - `logmel_ms`, `logmel_long_ms`: log-mel of the 16 kHz clip and of the long one (3 min),
//!   already decoded.
//! - `analyze_ms[model]`: the whole analysis of 44.1 kHz stereo PCM of the same length (downmix,
//!   resample, log-mel, patches, model), per model; with the tiny fixture model this is
//!   essentially the front end.
//! - `patch_ms[model]`: one 3 s patch through each model (batch 1).
//! - `tempo_long_ms`: the tempo of the long clip from its mel power frames (onset strength,
//!   tempogram, choice): what tempo adds to an analysis.
//! - `front_end_long_ms`, `front_end_fingerprint_long_ms`: the long clip's front end (mel,
//!   patches, tempo) without and with its version fingerprint (`simsong::versions`), and
//!   `analyze_long_ms`: its whole analysis with the last model given (the shipped one in
//!   `scripts/bench.sh`): what fingerprints add to indexing.

mod common;

use common::time_ms;
use simsong::audio::decode_mono;
use simsong::mel::{log_mel_spectrogram, melspectrogram};
use simsong::model::Model;
use simsong::tempo::{TempoEstimate, tempo_of_samples};
use simsong::{AnalysisParams, Engine};

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let [clip16, long16, clip44, models @ ..] = args.as_slice() else {
        eprintln!("usage: pipeline CLIP16K.wav LONG_CLIP16K.wav CLIP44K_STEREO.wav MODEL.onnx...");
        std::process::exit(2);
    };
    let params = AnalysisParams::CURRENT;
    let (y16, _) = decode_mono(std::fs::read(clip16).unwrap(), None).unwrap();
    let (long, _) = decode_mono(std::fs::read(long16).unwrap(), None).unwrap();
    let bytes44 = std::fs::read(clip44).unwrap();
    // Interleaved stereo PCM, as the browser's decodeAudioData would hand it over.
    let (mono44, info44) = decode_mono(bytes44, None).unwrap();
    let stereo44: Vec<f32> = mono44.iter().flat_map(|&v| [v, v]).collect();

    let mut report = serde_json::json!({
        "clip_seconds": y16.len() as f64 / f64::from(params.sample_rate_hz),
        "logmel_ms": time_ms(30, || {
            std::hint::black_box(log_mel_spectrogram(&y16, &params).unwrap());
        }),
        "long_clip_seconds": long.len() as f64 / f64::from(params.sample_rate_hz),
        "logmel_long_ms": time_ms(10, || {
            std::hint::black_box(log_mel_spectrogram(&long, &params).unwrap());
        }),
    });
    let power = melspectrogram(&long, &params).unwrap();
    report["tempo_long_ms"] = time_ms(10, || {
        std::hint::black_box(TempoEstimate::from_mel_power(&power, &params));
    });
    // The same as the wasm benchmark measures it (no mel power export there): the tempo of the
    // samples, mel included, and the log-mel alone.
    report["tempo_of_samples_long_ms"] = time_ms(10, || {
        std::hint::black_box(tempo_of_samples(&long, &params).unwrap());
    });
    let front = simsong::frontend::FrontEnd::new(params).unwrap();
    for (key, fingerprint) in [
        ("front_end_long_ms", false),
        ("front_end_fingerprint_long_ms", true),
    ] {
        let front = front.clone().with_fingerprint(fingerprint);
        report[key] = time_ms(5, || {
            std::hint::black_box(
                front
                    .features_from_pcm(&long, params.sample_rate_hz, 1)
                    .unwrap(),
            );
        });
    }
    let (mut patch_ms, mut analyze_ms) = (serde_json::Map::new(), serde_json::Map::new());
    report["analyze_long_model"] = models.last().cloned().into();
    for path in models {
        let engine =
            Engine::from_model(Model::from_bytes(&std::fs::read(path).unwrap()).unwrap()).unwrap();
        let name = engine.model_metadata().name.clone();
        let features = engine
            .front_end()
            .features_from_pcm(&y16, params.sample_rate_hz, 1)
            .unwrap();
        let patch = &features.patches[..1];
        let timing = time_ms(50, || {
            std::hint::black_box(engine.model().run(patch).unwrap());
        });
        patch_ms.insert(name.clone(), timing);
        let timing = time_ms(5, || {
            std::hint::black_box(
                engine
                    .analyze_pcm(&stereo44, info44.sample_rate_hz, 2)
                    .unwrap(),
            );
        });
        // The last model given: the shipped one in `scripts/bench.sh`.
        if Some(path) == models.last() {
            report["analyze_long_ms"] = time_ms(3, || {
                std::hint::black_box(engine.analyze_pcm(&long, params.sample_rate_hz, 1).unwrap());
            });
        }
        analyze_ms.insert(name, timing);
    }
    report["patch_ms"] = patch_ms.into();
    report["analyze_ms"] = analyze_ms.into();
    println!("{}", serde_json::to_string_pretty(&report).unwrap());
}
