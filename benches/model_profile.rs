//! Where one patch's inference time goes, by operator, natively (tract's optimised plan).
//!
//! `cargo bench --bench model_profile -- MODEL.onnx` prints JSON: the median total per patch
//! and, per operator kind, its mean time and share. The wasm build runs the same plan with its
//! own kernels; the shares there are similar (see BENCHMARKS.md).

use std::collections::BTreeMap;
use std::time::Instant;

use simsong::AnalysisParams;
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::tract_core::plan::eval;

fn main() {
    let path = std::env::args()
        .skip(1)
        .find(|a| a != "--bench")
        .expect("usage: model_profile MODEL.onnx");
    let p = AnalysisParams::CURRENT;
    let mut model = tract_onnx::onnx()
        .model_for_path(&path)
        .expect("an ONNX model");
    model
        .set_input_fact(0, f32::fact([1, 1, p.n_mels, p.patch_frames]).into())
        .unwrap();
    let plan = model.into_optimized().unwrap().into_runnable().unwrap();
    let data: Vec<f32> = (0..p.n_mels * p.patch_frames)
        .map(|i| ((i * 7919) % 1000) as f32 / 250.0)
        .collect();
    let input = Tensor::from_shape(&[1, 1, p.n_mels, p.patch_frames], &data).unwrap();
    let mut state = plan.spawn().unwrap();
    let runs = 40;
    let mut by_op: BTreeMap<String, f64> = BTreeMap::new();
    let mut totals = Vec::with_capacity(runs);
    for run in 0..=runs {
        let started = Instant::now();
        let mut times: Vec<(String, f64)> = Vec::new();
        state
            .run_plan_with_eval(
                tvec!(input.clone().into_tvalue()),
                |s, op_state, node, inputs| {
                    let t = Instant::now();
                    let r = eval(s, op_state, node, inputs);
                    times.push((
                        node.op().name().to_string(),
                        t.elapsed().as_secs_f64() * 1e3,
                    ));
                    r
                },
            )
            .unwrap();
        if run == 0 {
            continue; // warm-up
        }
        totals.push(started.elapsed().as_secs_f64() * 1e3);
        for (op, ms) in times {
            *by_op.entry(op).or_default() += ms / runs as f64;
        }
    }
    totals.sort_by(f64::total_cmp);
    let sum: f64 = by_op.values().sum();
    let mut ops: Vec<_> = by_op.into_iter().collect();
    ops.sort_by(|a, b| b.1.total_cmp(&a.1));
    let ops: Vec<_> = ops
        .into_iter()
        .map(|(op, ms)| serde_json::json!({ "op": op, "ms": ms, "share": ms / sum }))
        .collect();
    let report = serde_json::json!({ "patch_ms_median": totals[runs / 2], "ops": ops });
    println!("{}", serde_json::to_string_pretty(&report).unwrap());
}
