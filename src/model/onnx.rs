//! Reading the ONNX form of a model (native builds only; training exports ONNX). The browser
//! loads the NNEF form instead (see [`super::nnef`]), which `simsong model-export` makes from
//! this one.

use sha2::{Digest, Sha256};
use tract_onnx::prelude::*;

use super::{LoadedGraph, METADATA_KEY, hex, model_err, parse_metadata, select_io};
use crate::error::{Error, Result};

/// Reads an ONNX model: checks its metadata and wiring, fixes its input to one patch, and
/// returns the decluttered typed graph with its metadata and SHA-256.
pub(super) fn read(bytes: &[u8]) -> Result<LoadedGraph> {
    let onnx = tract_onnx::onnx();
    let proto = onnx
        .proto_model_for_read(&mut &bytes[..])
        .map_err(|e| Error::InvalidModel(format!("not an ONNX model: {e}")))?;
    let json = proto
        .metadata_props
        .iter()
        .find(|e| e.key == METADATA_KEY)
        .map(|e| e.value.as_str());
    let meta = parse_metadata(json)?;
    check_graph_wiring(&proto)?;
    let mut model = onnx
        .model_for_proto_model(&proto)
        .map_err(|e| Error::InvalidModel(format!("unsupported ONNX graph: {e:#}")))?;
    let inputs = model.input_outlets().map_err(model_err)?.len();
    if inputs != 1 {
        return Err(Error::InvalidModel(format!(
            "expected 1 input named `{}`, found {inputs}",
            super::INPUT_NAME
        )));
    }
    let p = &meta.analysis;
    model
        .set_input_fact(0, f32::fact([1, 1, p.n_mels, p.patch_frames]).into())
        .map_err(model_err)?;
    let mut typed = model
        .into_typed()
        .and_then(|m| m.into_decluttered())
        .map_err(|e| {
            Error::InvalidModel(format!(
                "the graph does not accept [1, 1, {}, {}] input: {e:#}",
                p.n_mels, p.patch_frames
            ))
        })?;
    select_io(&mut typed, &meta)?;
    Ok(LoadedGraph {
        model: typed,
        meta,
        sha256: hex(&Sha256::digest(bytes)),
    })
}

/// Checks what tract's graph builder assumes without checking (it panics otherwise, which in
/// wasm would abort the worker): every graph output is produced by a node, an input or an
/// initializer, and no node carries a control-flow subgraph (our CNNs have none). Found by
/// fuzzing the model loader (`fuzz/fuzz_targets/model_loader.rs`).
fn check_graph_wiring(proto: &tract_onnx::pb::ModelProto) -> Result<()> {
    let graph = proto
        .graph
        .as_ref()
        .ok_or_else(|| Error::InvalidModel("the ONNX file holds no graph".into()))?;
    let mut produced: std::collections::HashSet<&str> = std::collections::HashSet::new();
    produced.extend(graph.input.iter().map(|i| i.name.as_str()));
    produced.extend(graph.initializer.iter().map(|t| t.name.as_str()));
    for node in &graph.node {
        produced.extend(node.output.iter().map(String::as_str));
        if node
            .attribute
            .iter()
            .any(|a| a.g.is_some() || !a.graphs.is_empty())
        {
            return Err(Error::InvalidModel(format!(
                "node `{}` ({}) has a subgraph: control flow is not supported",
                node.name, node.op_type
            )));
        }
    }
    if let Some(missing) = graph
        .output
        .iter()
        .find(|o| !produced.contains(o.name.as_str()))
    {
        return Err(Error::InvalidModel(format!(
            "graph output `{}` is not produced by any node",
            missing.name
        )));
    }
    Ok(())
}
