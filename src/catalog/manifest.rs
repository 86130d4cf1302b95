//! Catalog manifests: the list of tracks to index, from CSV/TSV/JSON or a folder of audio.
//!
//! Columns (CSV/TSV header names, JSON object keys):
//!
//! | column        | required | meaning                                                        |
//! |---------------|----------|----------------------------------------------------------------|
//! | `id`          | yes      | the store's track id, unique                                   |
//! | `audio`       | yes      | audio file; relative paths are relative to the manifest        |
//! | `title`       |          | display title (default: the file name without extension)      |
//! | `collection`  |          | album / collection / package                                   |
//! | `composer`    |          | composer or artist                                             |
//! | `tags`        |          | `category:value` pairs separated by `;` (JSON: also an object) |
//! | `license`     |          | license name or SPDX id                                        |
//! | `attribution` |          | attribution text                                               |
//! | `preview_url` |          | URL of a browser-playable preview                              |
//! | `version_of`  |          | ids of tracks this one is a version of (a cut-down, a loop…),  |
//! |               |          | separated by `;` (JSON: also a list); merged with what the     |
//! |               |          | version audit detects                                          |

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::index::{Tags, TrackMeta};

/// One track to index: its metadata and where its audio is.
#[derive(Debug, Clone)]
pub struct Entry {
    pub meta: TrackMeta,
    pub audio: PathBuf,
}

/// Audio file extensions picked up when indexing a folder.
pub const AUDIO_EXTENSIONS: &[&str] = &["wav", "mp3", "ogg", "oga", "flac", "m4a", "mp4", "aac"];

#[derive(Deserialize)]
struct Row {
    id: String,
    audio: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    collection: Option<String>,
    #[serde(default)]
    composer: Option<String>,
    #[serde(default)]
    tags: Option<TagsField>,
    #[serde(default)]
    license: Option<String>,
    #[serde(default)]
    attribution: Option<String>,
    #[serde(default)]
    preview_url: Option<String>,
    #[serde(default)]
    version_of: Option<IdsField>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum IdsField {
    Text(String),
    List(Vec<String>),
}

impl IdsField {
    /// The ids, trimmed, empty ones dropped, each once, in order.
    fn ids(self) -> Vec<String> {
        let all: Vec<String> = match self {
            IdsField::Text(t) => t.split(';').map(|s| s.trim().to_string()).collect(),
            IdsField::List(l) => l.into_iter().map(|s| s.trim().to_string()).collect(),
        };
        let mut out: Vec<String> = Vec::new();
        for id in all {
            if !id.is_empty() && !out.contains(&id) {
                out.push(id);
            }
        }
        out
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum TagsField {
    Text(String),
    Map(Tags),
}

/// Reads a manifest (`.csv`, `.tsv` or `.json`).
pub fn read_manifest(path: &Path) -> Result<Vec<Entry>> {
    let base = path.parent().unwrap_or(Path::new("."));
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let shown = path.display();
    let rows: Vec<Row> = match ext {
        "json" => {
            let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
            serde_json::from_str(&text).map_err(|e| Error::Catalog(format!("{shown}: {e}")))?
        }
        "csv" | "tsv" => {
            let mut reader = csv::ReaderBuilder::new()
                .delimiter(if ext == "tsv" { b'\t' } else { b',' })
                .from_path(path)
                .map_err(|e| Error::Catalog(format!("cannot read {shown}: {e}")))?;
            let mut rows = Vec::new();
            for (i, row) in reader.deserialize().enumerate() {
                let row: Row =
                    row.map_err(|e| Error::Catalog(format!("{shown}: row {}: {e}", i + 2)))?;
                rows.push(row);
            }
            rows
        }
        _ => {
            return Err(Error::Catalog(format!(
                "{shown}: a manifest must be .csv, .tsv or .json"
            )));
        }
    };
    rows.into_iter()
        .map(|row| {
            let tags = match row.tags {
                None => Tags::new(),
                Some(TagsField::Map(m)) => m,
                Some(TagsField::Text(t)) => parse_tags(&t)
                    .map_err(|e| Error::Catalog(format!("track `{}`: {e}", row.id)))?,
            };
            let audio = base.join(&row.audio);
            let title = non_empty(row.title).unwrap_or_else(|| file_stem(&audio));
            Ok(Entry {
                meta: TrackMeta {
                    id: row.id,
                    title,
                    collection: row.collection.unwrap_or_default(),
                    composer: non_empty(row.composer),
                    tags,
                    license: non_empty(row.license),
                    attribution: non_empty(row.attribution),
                    preview_url: non_empty(row.preview_url),
                    version_of: row.version_of.map(IdsField::ids).unwrap_or_default(),
                    ..Default::default()
                },
                audio,
            })
        })
        .collect()
}

/// Every audio file under `dir` (recursively, sorted): id = path relative to `dir`,
/// collection = its parent folder's name.
pub fn read_folder(dir: &Path) -> Result<Vec<Entry>> {
    let mut files = Vec::new();
    collect_audio(dir, &mut files)?;
    files.sort();
    Ok(files
        .into_iter()
        .map(|audio| {
            let rel = audio.strip_prefix(dir).unwrap_or(&audio);
            let collection = rel
                .parent()
                .and_then(|p| p.file_name())
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            Entry {
                meta: TrackMeta {
                    id: rel.to_string_lossy().into_owned(),
                    title: file_stem(&audio),
                    collection,
                    ..Default::default()
                },
                audio,
            }
        })
        .collect())
}

fn collect_audio(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let listing = std::fs::read_dir(dir)
        .map_err(|e| Error::Catalog(format!("cannot list {}: {e}", dir.display())))?;
    for entry in listing {
        let path = entry.map_err(|e| Error::io(dir, e))?.path();
        if path.is_dir() {
            collect_audio(&path, out)?;
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| AUDIO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        {
            out.push(path);
        }
    }
    Ok(())
}

/// Parses `genre:ambient; mood:calm; mood:dark` into tags by category.
pub fn parse_tags(text: &str) -> Result<Tags> {
    let mut tags = Tags::new();
    for pair in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((category, value)) = pair.split_once(':') else {
            return Err(Error::Catalog(format!(
                "tag `{pair}` is not `category:value`"
            )));
        };
        let (category, value) = (category.trim(), value.trim());
        if category.is_empty() || value.is_empty() {
            return Err(Error::Catalog(format!(
                "tag `{pair}` has an empty category or value"
            )));
        }
        let values = tags.entry(category.to_string()).or_default();
        if !values.iter().any(|v| v == value) {
            values.push(value.to_string());
        }
    }
    Ok(tags)
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty())
}

fn file_stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}
