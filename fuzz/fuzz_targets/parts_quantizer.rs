//! Any bytes as the quantiser part's payload: a quantiser or an error, never a panic or a huge
//! allocation; what loads scores, decodes, assigns cells and writes itself back unchanged. (A
//! page reaches this decoder only with bytes whose hash is the index id; the fuzzer goes past
//! that check, to the parser itself.) Seeds: fuzz/seeds/parts_quantizer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use simsong::index::quantizer::Quantizer;

fuzz_target!(|data: &[u8]| {
    // The embedding size the header claims, so the parser's own checks decide (bounded: a
    // page knows its manifest's).
    let Some(dim) = data.get(..4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])) else {
        return;
    };
    if !(1..=4096).contains(&dim) {
        return;
    }
    let Ok(q) = Quantizer::from_bytes(data, dim as usize) else {
        return;
    };
    let query = vec![1.0 / (dim as f32).sqrt(); dim as usize];
    let table = q.adc_table(&query);
    // Every byte value as a code (the tables have 256 entries whatever the codewords).
    let codes: Vec<u8> = (0..q.code_len()).map(|i| (i * 37) as u8).collect();
    let _ = table.score(&codes);
    let cell = q.cell_of(&query);
    assert!(cell < q.cells as usize);
    assert_eq!(q.decode(cell, &codes).len(), dim as usize);
    assert_eq!(q.to_bytes(), data, "the stored form round-trips");
});
