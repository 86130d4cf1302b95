//! The model's two forms: the ONNX file training exports (read natively) and the NNEF archive
//! the browser loads (`simsong model-export`). The committed archives are exactly the export of
//! the committed ONNX files, both forms are one model (same identity, same numbers), and a
//! damaged or foreign archive is refused by name.
#![cfg(all(feature = "cli", not(target_arch = "wasm32")))]

mod common;

use common::{fixture, max_abs_diff, read};
use simsong::Engine;
use simsong::model::nnef::export_from_onnx;

fn repo(rel: &str) -> Vec<u8> {
    std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)).unwrap()
}

#[test]
fn committed_archives_are_the_export_of_the_onnx_files() {
    for (onnx, nnef) in [
        ("models/simsong.onnx", "models/simsong.nnef.tar"),
        (
            "tests/fixtures/models/test-untrained.onnx",
            "tests/fixtures/models/test-untrained.nnef.tar",
        ),
        (
            "tests/fixtures/models/test-aisfx-untrained.onnx",
            "tests/fixtures/models/test-aisfx-untrained.nnef.tar",
        ),
    ] {
        let exported = export_from_onnx(&repo(onnx)).unwrap();
        assert!(
            exported == repo(nnef),
            "{nnef} is not the export of {onnx}: run `bash tests/fixtures/make_nnef_fixtures.sh`"
        );
    }
}

#[test]
fn both_forms_are_one_model() {
    for (onnx, nnef) in [
        ("models/simsong.onnx", "models/simsong.nnef.tar"),
        (
            "tests/fixtures/models/test-untrained.onnx",
            "tests/fixtures/models/test-untrained.nnef.tar",
        ),
    ] {
        let a = Engine::from_model_bytes(&repo(onnx)).unwrap();
        let b = Engine::from_model_bytes(&repo(nnef)).unwrap();
        assert_eq!(
            a.model_sha256(),
            b.model_sha256(),
            "identity: the ONNX file's SHA-256"
        );
        assert_eq!(a.model_metadata(), b.model_metadata());
        for audio in ["audio/real_music_a_44k.mp3", "audio/real_music_b_16k.wav"] {
            let x = a.analyze_bytes(read(audio), None).unwrap();
            let y = b.analyze_bytes(read(audio), None).unwrap();
            let d = max_abs_diff(&x.embedding, &y.embedding);
            assert!(d <= 1e-5, "{nnef} {audio}: embeddings differ by {d}");
            for (s, t) in x.segments.iter().zip(&y.segments) {
                assert!(max_abs_diff(&s.embedding, &t.embedding) <= 1e-5);
            }
        }
    }
}

/// The shipped model's weights lie on an int8 grid (`training/quantize_weights.py`), so its
/// archive stores every kernel as int8 with per-row scales: what a page downloads is a
/// quarter of the f32 bytes, and `both_forms_are_one_model` above holds for it all the same.
/// The untrained test model's weights do not, and stay f32.
#[test]
fn the_shipped_archive_stores_its_kernels_as_int8() {
    let entries = |rel: &str| -> Vec<(String, u64)> {
        let bytes = repo(rel);
        let mut archive = tar::Archive::new(&bytes[..]);
        archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (e.path().unwrap().to_string_lossy().into_owned(), e.size())
            })
            .collect()
    };
    let shipped = entries("models/simsong.nnef.tar");
    let scales = shipped
        .iter()
        .filter(|(p, _)| p.ends_with(".q8scale.dat"))
        .count();
    // 6 of the 7 convolution kernels (the first, 144 values, is too small to gain), the
    // embedding and instrument layers (each cut in two by tract), the instrument head's output.
    assert_eq!(scales, 11, "{shipped:?}");
    let size = repo("models/simsong.nnef.tar").len();
    assert!(size < 800_000, "{size} bytes: f32 weights would be 2.8 MB");
    let untrained = entries("tests/fixtures/models/test-untrained.nnef.tar");
    assert!(!untrained.iter().any(|(p, _)| p.ends_with(".q8scale.dat")));
}

#[test]
fn damaged_edited_or_foreign_archives_are_refused() {
    let good = read("models/test-untrained.nnef.tar");
    let err = |bytes: &[u8]| Engine::from_model_bytes(bytes).unwrap_err().to_string();

    // One weight changed: same claimed identity, other numbers — refused.
    let mut edited = good.clone();
    let dat = find(&edited, b"conv2.weight.0.dat").expect("a weight entry") + 512 + 1000;
    edited[dat] ^= 0x40;
    assert!(
        err(&edited).contains("does not match its digest"),
        "{}",
        err(&edited)
    );

    // The stated metadata edited (same length, so the archive stays well-formed): refused too.
    let mut renamed = good.clone();
    let at = find(&renamed, b"\"test-untrained\"").expect("the name in simsong.json") + 1;
    renamed[at] = b'T';
    assert!(
        err(&renamed).contains("does not match its digest"),
        "{}",
        err(&renamed)
    );

    // Cut short.
    let cut = &good[..good.len() * 2 / 3];
    assert!(err(cut).contains("NNEF"), "{}", err(cut));

    // Other analysis numbers (made by make_nnef_fixtures.sh from test-untrained's archive).
    let wrong = read("models/test-wrong-nmels.nnef.tar");
    assert!(
        err(&wrong).contains("different analysis numbers"),
        "{}",
        err(&wrong)
    );

    // An NNEF archive not made by `simsong model-export` (no simsong.json).
    let mut plain = tar::Builder::new(Vec::new());
    let mut archive = tar::Archive::new(&good[..]);
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().into_owned();
        if path.to_str() == Some("simsong.json") {
            continue;
        }
        let mut header = entry.header().clone();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut data).unwrap();
        plain.append_data(&mut header, &path, &data[..]).unwrap();
    }
    let plain = plain.into_inner().unwrap();
    assert!(
        err(&plain).contains("not exported for this product"),
        "{}",
        err(&plain)
    );

    // The export refuses what every loader refuses.
    let e = export_from_onnx(&read("models/test-wrong-nmels.onnx")).unwrap_err();
    assert!(e.to_string().contains("different analysis numbers"), "{e}");
    let e = export_from_onnx(&read("models/not-a-model.onnx")).unwrap_err();
    assert!(e.to_string().contains("not an ONNX model"), "{e}");
    assert!(fixture("models/test-untrained.nnef.tar").exists());
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
