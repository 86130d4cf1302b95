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

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Deserialize;
use simsong::TrackMeta;
use simsong::index::Tags;

/// One track to index: its metadata and where its audio is.
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
}

#[derive(Deserialize)]
#[serde(untagged)]
enum TagsField {
    Text(String),
    Map(Tags),
}

/// Reads a manifest (`.csv`, `.tsv` or `.json`).
pub fn read_manifest(path: &Path) -> anyhow::Result<Vec<Entry>> {
    let base = path.parent().unwrap_or(Path::new("."));
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let rows: Vec<Row> = match ext {
        "json" => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            serde_json::from_str(&text).with_context(|| format!("{}", path.display()))?
        }
        "csv" | "tsv" => {
            let mut reader = csv::ReaderBuilder::new()
                .delimiter(if ext == "tsv" { b'\t' } else { b',' })
                .from_path(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let mut rows = Vec::new();
            for (i, row) in reader.deserialize().enumerate() {
                let row: Row = row.with_context(|| format!("{}: row {}", path.display(), i + 2))?;
                rows.push(row);
            }
            rows
        }
        _ => bail!("{}: a manifest must be .csv, .tsv or .json", path.display()),
    };
    rows.into_iter()
        .map(|row| {
            let tags = match row.tags {
                None => Tags::new(),
                Some(TagsField::Map(m)) => m,
                Some(TagsField::Text(t)) => {
                    parse_tags(&t).with_context(|| format!("track `{}`", row.id))?
                }
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
                    ..Default::default()
                },
                audio,
            })
        })
        .collect()
}

/// Every audio file under `dir` (recursively, sorted): id = path relative to `dir`,
/// collection = its parent folder's name.
pub fn read_folder(dir: &Path) -> anyhow::Result<Vec<Entry>> {
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

fn collect_audio(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let path = entry?.path();
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
pub fn parse_tags(text: &str) -> anyhow::Result<Tags> {
    let mut tags = Tags::new();
    for pair in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((category, value)) = pair.split_once(':') else {
            bail!("tag `{pair}` is not `category:value`");
        };
        let (category, value) = (category.trim(), value.trim());
        if category.is_empty() || value.is_empty() {
            bail!("tag `{pair}` has an empty category or value");
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
