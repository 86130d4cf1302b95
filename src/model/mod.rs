//! The embedding model: an ONNX CNN run with tract, plus the metadata that ties it to the
//! front end.
//!
//! The model maps one log-mel patch `[1, n_mels, patch_frames]` to an embedding (`embedding`
//! output, `[N, D]`) and to one or more classification heads (e.g. `instrument`, `[N, C]`
//! logits). Its ONNX `metadata_props` carry a `simsong` entry (JSON, [`ModelMetadata`]) with the
//! analysis numbers it was trained on; loading checks them against this build's.

mod int8;
pub mod nnef;
#[cfg(not(target_arch = "wasm32"))]
pub mod onnx;

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tract_nnef::internal::*;

use crate::error::{Error, Result};
use crate::params::{AnalysisParams, FrontEndKind};
use crate::patches::Patch;

/// The shipped model (`models/simsong.onnx`), built in where the `shipped-model` feature is on
/// (the CLI and the Python wheel), so they work from any folder.
#[cfg(feature = "shipped-model")]
pub const SHIPPED_ONNX: &[u8] = include_bytes!("../../models/simsong.onnx");

/// Key of the ONNX `metadata_props` entry holding [`ModelMetadata`] as JSON.
pub const METADATA_KEY: &str = "simsong";
/// Version of the [`ModelMetadata`] schema this build reads.
pub const METADATA_FORMAT: u32 = 1;
/// Name of the ONNX input and of the embedding output.
pub const INPUT_NAME: &str = "mel";
/// Name of the ONNX output holding the (unnormalised) embedding.
pub const EMBEDDING_OUTPUT: &str = "embedding";

/// A classification head of the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeadInfo {
    /// ONNX output name (e.g. `"instrument"`).
    pub output: String,
    /// Class names, in logit order.
    pub classes: Vec<String>,
}

/// What the model says about itself (the `simsong` metadata entry).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelMetadata {
    /// Schema version ([`METADATA_FORMAT`]).
    pub format: u32,
    /// Human-readable model name.
    pub name: String,
    /// `false` for test fixtures with random weights: they must never be presented as trained.
    pub trained: bool,
    /// The kind of front end the model's patches come from (absent: the product's own; not
    /// written then, so the student's archives stay what they were).
    #[serde(default, skip_serializing_if = "is_own_front_end")]
    pub frontend: FrontEndKind,
    /// Version of that front end the model was trained with.
    #[serde(default = "default_frontend_version")]
    pub frontend_version: u32,
    /// The analysis numbers the model was trained on.
    pub analysis: AnalysisParams,
    /// Length of the embedding vector.
    pub embedding_dim: usize,
    /// Classification heads.
    #[serde(default)]
    pub heads: Vec<HeadInfo>,
}

fn is_own_front_end(kind: &FrontEndKind) -> bool {
    *kind == FrontEndKind::Simsong
}

fn default_frontend_version() -> u32 {
    1
}

/// Outputs of the model for a batch of patches.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchOutputs {
    /// One L2-normalised embedding per patch.
    pub embeddings: Vec<Vec<f32>>,
    /// Per head (in [`ModelMetadata::heads`] order), per patch, class probabilities (softmax).
    pub head_probabilities: Vec<Vec<Vec<f32>>>,
}

/// A loaded, validated, optimised model.
pub struct Model {
    plan: Arc<TypedRunnableModel>,
    meta: ModelMetadata,
    sha256: String,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("meta", &self.meta)
            .field("sha256", &self.sha256)
            .finish()
    }
}

impl Model {
    /// Loads a model from its bytes, ONNX (natively) or its NNEF export (`simsong model
    /// export`, everywhere), and checks it against this build's analysis numbers.
    ///
    /// tract 0.23 can panic on malformed graphs (fuzzing found a Flatten whose axis exceeds the
    /// input's rank). Natively the panic is caught and reported as an invalid model; in wasm a
    /// panic aborts the instance and the page replaces its worker (`www/engine-client.js`).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        std::panic::catch_unwind(|| Self::load(bytes)).unwrap_or_else(|panic| {
            Err(Error::InvalidModel(format!(
                "the graph made the inference engine fail ({})",
                crate::error::panic_message(&*panic)
            )))
        })
    }

    fn load(bytes: &[u8]) -> Result<Self> {
        if bytes.is_empty() {
            return Err(Error::InvalidModel("the model file is empty".into()));
        }
        let loaded = if nnef::is_nnef(bytes) {
            nnef::read(bytes)?
        } else {
            read_onnx(bytes)?
        };
        Self::from_typed(loaded)
    }

    /// Fixes the input shape, checks the outputs against the metadata and optimises the graph
    /// for this machine (once: the plan is reused for every patch).
    fn from_typed(loaded: LoadedGraph) -> Result<Self> {
        let LoadedGraph {
            model,
            meta,
            sha256,
        } = loaded;
        let p = &meta.analysis;
        let typed = model.into_optimized().map_err(|e| {
            Error::InvalidModel(format!(
                "the graph does not accept [1, 1, {}, {}] input: {e:#}",
                p.n_mels, p.patch_frames
            ))
        })?;
        check_output_width(&typed, 0, meta.embedding_dim, EMBEDDING_OUTPUT)?;
        for (i, head) in meta.heads.iter().enumerate() {
            check_output_width(&typed, i + 1, head.classes.len(), &head.output)?;
        }
        let plan = typed.into_runnable().map_err(model_err)?;
        Ok(Model { plan, meta, sha256 })
    }

    /// The model's metadata.
    pub fn metadata(&self) -> &ModelMetadata {
        &self.meta
    }

    /// Hex SHA-256 of the ONNX file the model comes from (for an NNEF export, the ONNX file it
    /// was exported from, recorded in it); indexes record it so that a catalog is only searched
    /// with the model that embedded it, whichever form of it a program loads.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// Runs the model on each patch; embeddings come back L2-normalised.
    pub fn run(&self, patches: &[Patch]) -> Result<PatchOutputs> {
        let p = &self.meta.analysis;
        let expected_len = p.n_mels * p.patch_frames;
        let mut out = PatchOutputs {
            embeddings: Vec::with_capacity(patches.len()),
            head_probabilities: vec![Vec::with_capacity(patches.len()); self.meta.heads.len()],
        };
        for patch in patches {
            if patch.data.len() != expected_len {
                return Err(Error::Inference(format!(
                    "patch has {} values, the model needs {expected_len}",
                    patch.data.len()
                )));
            }
            let input = Tensor::from_shape(&[1, 1, p.n_mels, p.patch_frames], &patch.data)
                .map_err(infer_err)?;
            let result = self
                .plan
                .run(tvec!(input.into_tvalue()))
                .map_err(infer_err)?;
            let mut embedding = first_row(&result[0])?;
            l2_normalize(&mut embedding);
            out.embeddings.push(embedding);
            for (h, probs) in out.head_probabilities.iter_mut().enumerate() {
                let mut logits = first_row(&result[h + 1])?;
                softmax(&mut logits);
                probs.push(logits);
            }
        }
        Ok(out)
    }
}

/// A graph as read from a file, before optimisation: typed, input shape fixed, outputs selected
/// (embedding first, then the heads), with the metadata and the model's identity.
struct LoadedGraph {
    model: TypedModel,
    meta: ModelMetadata,
    /// Hex SHA-256 of the ONNX file the model comes from (see [`Model::sha256`]).
    sha256: String,
}

#[cfg(not(target_arch = "wasm32"))]
fn read_onnx(bytes: &[u8]) -> Result<LoadedGraph> {
    onnx::read(bytes)
}

/// The browser build has no ONNX reader (it would cost ~0.4 MB of compressed wasm): it loads
/// the NNEF form `simsong model-export` makes from the ONNX file.
#[cfg(target_arch = "wasm32")]
fn read_onnx(bytes: &[u8]) -> Result<LoadedGraph> {
    Err(Error::InvalidModel(if bytes.starts_with(&[0x08]) {
        "this looks like an ONNX file: the browser engine loads the model's NNEF form \
         (`simsong model-export --model MODEL.onnx --out MODEL.nnef.tar`)"
            .into()
    } else {
        "not a model: the browser engine loads an NNEF archive (`simsong model-export`)".into()
    }))
}

/// Parses and checks the `simsong` metadata entry (JSON) against this build's numbers.
fn parse_metadata(json: Option<&str>) -> Result<ModelMetadata> {
    let json = json.ok_or_else(|| {
        Error::InvalidModel(format!(
            "no `{METADATA_KEY}` metadata: not a model exported for this product (its analysis numbers are unknown)"
        ))
    })?;
    let meta: ModelMetadata = serde_json::from_str(json)
        .map_err(|e| Error::InvalidModel(format!("unreadable `{METADATA_KEY}` metadata: {e}")))?;
    if meta.format != METADATA_FORMAT {
        return Err(Error::InvalidModel(format!(
            "metadata format {} is not supported (this build reads format {METADATA_FORMAT})",
            meta.format
        )));
    }
    meta.analysis.validate()?;
    let source = format!("model `{}`", meta.name);
    let kind = FrontEndKind::checked(&meta.analysis, &source)?;
    if kind != meta.frontend {
        return Err(Error::InvalidModel(format!(
            "the model names the {:?} front end but carries the {kind:?} front end's analysis numbers",
            meta.frontend
        )));
    }
    if meta.frontend_version != kind.version() {
        return Err(Error::InvalidModel(format!(
            "the model was trained with front-end version {}, this build computes version {}",
            meta.frontend_version,
            kind.version()
        )));
    }
    if meta.embedding_dim == 0 || meta.embedding_dim > 4096 {
        return Err(Error::InvalidModel(format!(
            "embedding size {} is out of range",
            meta.embedding_dim
        )));
    }
    Ok(meta)
}

/// Checks the typed graph takes one patch, f32 `[1, 1, n_mels, patch_frames]`, and keeps the
/// outputs the metadata names, embedding first.
fn select_io(model: &mut TypedModel, meta: &ModelMetadata) -> Result<()> {
    let p = &meta.analysis;
    let inputs = model.input_outlets().map_err(model_err)?.to_vec();
    if inputs.len() != 1 {
        return Err(Error::InvalidModel(format!(
            "expected 1 input named `{INPUT_NAME}`, found {}",
            inputs.len()
        )));
    }
    let have = model.outlet_fact(inputs[0]).map_err(model_err)?;
    let want = [1, 1, p.n_mels, p.patch_frames];
    if have.datum_type != f32::datum_type() || have.shape.as_concrete() != Some(&want[..]) {
        return Err(Error::InvalidModel(format!(
            "the input is {have:?}, expected f32 {want:?}"
        )));
    }
    let mut outputs = vec![EMBEDDING_OUTPUT.to_string()];
    outputs.extend(meta.heads.iter().map(|h| h.output.clone()));
    model
        .select_outputs_by_name(&outputs)
        .map_err(|e| Error::InvalidModel(format!("missing output: {e}")))?;
    Ok(())
}

fn check_output_width(model: &TypedModel, ix: usize, width: usize, name: &str) -> Result<()> {
    let fact = model.output_fact(ix).map_err(model_err)?;
    let dims: Vec<_> = fact.shape.iter().collect();
    let last = dims.last().and_then(|d| d.to_usize().ok());
    if dims.len() != 2 || last != Some(width) {
        return Err(Error::InvalidModel(format!(
            "output `{name}` has shape {:?}, expected [1, {width}]",
            fact.shape
        )));
    }
    Ok(())
}

fn first_row(value: &TValue) -> Result<Vec<f32>> {
    let view = value.try_as_plain_ram().map_err(infer_err)?;
    let slice = view.as_slice::<f32>().map_err(infer_err)?;
    Ok(slice.to_vec())
}

fn model_err(e: TractError) -> Error {
    Error::InvalidModel(format!("{e:#}"))
}

fn infer_err(e: TractError) -> Error {
    Error::Inference(format!("{e:#}"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Scales `v` to unit length in place (see [`crate::index::vectors::l2_normalize`]).
pub use crate::index::vectors::l2_normalize;

/// Turns logits into probabilities in place (numerically stable softmax).
pub fn softmax(v: &mut [f32]) {
    let max = v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for x in v.iter_mut() {
        *x = (*x - max).exp();
        sum += *x;
    }
    v.iter_mut().for_each(|x| *x /= sum);
}
