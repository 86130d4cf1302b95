//! Published indexes (format 3) on disk: a folder holding `index.json` and `parts/`.
//!
//! The CLI reads them with the same [`PartedIndex`] and search tasks as the browser; only the
//! fetching differs (file reads instead of HTTP).

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use simsong::CatalogIndex;
use simsong::catalog::files::{publish_catalog_to, publish_into};
use simsong::index::parted::task::{Step, run_to_end};
use simsong::index::parted::{Fetch, PartKey, PartedIndex};
use simsong::index::parts::manifest::{Manifest, rerank_row_bytes, segment_row_bytes};
use simsong::index::parts::meta::{MetaShard, each_shard};
use simsong::index::parts::{PartKind, checksum_hex, rerank, segments};
use simsong::index::publish::{PartSizes, Published};
use simsong::index::quantizer::Quantizer;
use simsong::index::train::QuantizerShape;
use simsong::index::{
    FingerprintTable, IndexHeader, Precision, SegmentTable, VectorStore, VersionTable,
};

pub use simsong::catalog::files::{MANIFEST_NAME, folder, is_published};

/// A published index on disk, open for reading.
pub struct LocalIndex {
    /// The folder.
    pub dir: PathBuf,
    /// The index, as far as loaded.
    pub index: PartedIndex,
}

impl LocalIndex {
    /// Opens `path` (folder or manifest) and loads it whole (what a page loads at idle).
    pub fn open(path: &Path) -> anyhow::Result<LocalIndex> {
        let dir = folder(path);
        let manifest = dir.join(MANIFEST_NAME);
        let bytes = std::fs::read(&manifest)
            .with_context(|| format!("cannot read {}", manifest.display()))?;
        let index = PartedIndex::new(&bytes).with_context(|| format!("{}", manifest.display()))?;
        let mut local = LocalIndex { dir, index };
        for f in local.index.load_needs() {
            let bytes = read_fetch(&local.dir, &f)?;
            local
                .index
                .provide(f.key, &bytes)
                .with_context(|| format!("index {}", local.dir.display()))?;
        }
        Ok(local)
    }

    /// Runs a search or browse task to the end, reading parts from the folder.
    pub fn run<T>(
        &mut self,
        step: impl FnMut(&mut PartedIndex) -> simsong::Result<Step<T>>,
    ) -> anyhow::Result<T> {
        let dir = self.dir.clone();
        Ok(run_to_end(&mut self.index, step, |f| {
            read_fetch(&dir, f).map_err(|e| simsong::Error::IndexPart {
                part: f.file.clone(),
                problem: format!("{e:#}"),
            })
        })?)
    }

    /// The base generation's quantiser.
    pub fn quantizer(&self) -> anyhow::Result<Quantizer> {
        self.index
            .quantizer()
            .cloned()
            .context("the index has no quantiser")
    }
}

/// Reads the bytes of one fetch from the folder.
pub fn read_fetch(dir: &Path, f: &Fetch) -> anyhow::Result<Vec<u8>> {
    let path = dir.join(&f.file);
    let mut file =
        std::fs::File::open(&path).with_context(|| format!("cannot read {}", path.display()))?;
    file.seek(SeekFrom::Start(f.offset))?;
    let mut bytes = Vec::with_capacity(f.length as usize);
    file.take(f.length).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Trains the quantiser on `index` and publishes it as a new base into the folder `dir`, its
/// parts written as they are cut and `index` dropped once they are; timings on stderr.
pub fn publish_catalog(
    index: CatalogIndex,
    shape: QuantizerShape,
    sizes: PartSizes,
    dir: &Path,
) -> anyhow::Result<Published> {
    let tracks = index.len();
    let mut timings = None;
    let published = publish_into(dir, |sink| {
        let (published, t) = publish_catalog_to(index, shape, sizes, sink)?;
        timings = Some(t);
        Ok(published)
    })?;
    let timings = timings.expect("set by the publication");
    eprintln!(
        "trained the codebooks on {tracks} tracks in {:.1} s",
        timings.train_seconds
    );
    // bench/parts/run.sh parses this line (the time includes writing the parts).
    eprintln!("coded and cut into parts in {:.1} s", timings.cut_seconds);
    report_neighbours(&published);
    Ok(published)
}

/// Bytes of the parts `published` wrote.
pub fn parts_bytes(published: &Published) -> u64 {
    published.parts.iter().map(|(_, bytes)| bytes).sum()
}

/// Says how large the neighbours part is and how well its lists match an exhaustive scan.
pub fn report_neighbours(published: &Published) {
    if let (Some(nb), Some(recall)) = (&published.manifest.neighbours, published.neighbour_recall) {
        eprintln!(
            "neighbour lists: {} per track, {:.1} MB, computed in {:.1} s; recall@10 against an \
             exhaustive scan {recall:.3}",
            nb.k,
            nb.file.bytes as f64 / 1e6,
            published.neighbour_seconds
        );
    }
}

/// Every live track of a published index, back in one [`CatalogIndex`] (embeddings from the
/// int8 re-ranking rows, segments as stored), in position order; for `index rebuild-codes`.
pub fn to_catalog(local: &LocalIndex) -> anyhow::Result<CatalogIndex> {
    let m = local.index.manifest();
    let dim = m.dim();
    let quantizer = local.quantizer()?;
    let mut catalog = empty_catalog(m)?;
    for g in &m.generations {
        let rerank_rows = read_part(
            &local.dir,
            &g.rerank.file_name(PartKind::Rerank),
            &g.rerank.xxh3,
        )?;
        let segments_path = local.dir.join(g.segments.file_name(PartKind::Segments));
        let mut segments_file = std::fs::File::open(&segments_path)
            .with_context(|| format!("cannot read {}", segments_path.display()))?;
        for (s, shard) in meta_shards(local, g)?.into_iter().enumerate() {
            let rows: u64 = shard.segment_counts.iter().map(|&c| u64::from(c)).sum();
            let (offset, length) = segments::rows_range(shard.segment_first_row, rows, dim);
            segments_file.seek(SeekFrom::Start(offset))?;
            let mut seg_bytes = vec![0u8; length as usize];
            segments_file.read_exact(&mut seg_bytes)?;
            let mut seg_rows = seg_bytes.chunks_exact(segment_row_bytes(dim));
            for (i, track) in shard.tracks.iter().enumerate() {
                let local_pos = s * m.layout.meta_shard_tracks as usize + i;
                let count = shard.segment_counts[i] as usize;
                let segs: Vec<(f32, Vec<f32>)> = (&mut seg_rows)
                    .take(count)
                    .map(|row| {
                        let (start, scale, codes) = segments::split_row(row);
                        (start, codes.iter().map(|&c| scale * f32::from(c)).collect())
                    })
                    .collect();
                if local.index.is_removed(g.first_position + local_pos as u32) {
                    continue;
                }
                let at = rerank::row_offset(local_pos, m.layout.rerank_block_rows as usize, dim);
                let (scale, codes) =
                    rerank::split_row(&rerank_rows[at..at + rerank_row_bytes(dim)], dim);
                let position = g.first_position + local_pos as u32;
                let Some(PartKey::Cell(_, cell)) = local.index.cell_key(position) else {
                    bail!("the index's cell tables are not loaded");
                };
                let centroid = quantizer.centroid(cell as usize);
                let embedding = rerank::dequantize(centroid, scale, codes);
                let refs: Vec<(f32, &[f32])> =
                    segs.iter().map(|(t, v)| (*t, v.as_slice())).collect();
                catalog.add_embedding(track.clone(), &embedding, &refs, usize::MAX)?;
            }
        }
    }
    Ok(catalog)
}

/// An empty one-file index with the manifest's model and analysis numbers, to add tracks to.
pub fn empty_catalog(m: &Manifest) -> anyhow::Result<CatalogIndex> {
    let header = IndexHeader {
        analysis: m.analysis,
        frontend_version: m.frontend_version,
        tempo_version: m.tempo_version,
        model_name: m.model.name.clone(),
        model_sha256: m.model.sha256.clone(),
        embedding_dim: m.model.embedding_dim,
        model_trained: m.model.trained,
        created_by: concat!("simsong ", env!("CARGO_PKG_VERSION")).to_string(),
    };
    Ok(CatalogIndex::from_parts(
        header,
        Vec::new(),
        VectorStore::new(Precision::F32, m.dim()),
        SegmentTable {
            offsets: vec![0],
            starts_seconds: Vec::new(),
            vectors: VectorStore::new(Precision::Int8, m.dim()),
        },
        FingerprintTable::default(),
        VersionTable::default(),
    )?)
}

/// Reads a whole part file and checks it against the manifest's checksum.
fn read_part(dir: &Path, name: &str, xxh3: &str) -> anyhow::Result<Vec<u8>> {
    let path = dir.join(name);
    let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    if checksum_hex(&bytes) != xxh3 {
        bail!(
            "{}: checksum mismatch (damaged, or from another build)",
            path.display()
        );
    }
    Ok(bytes)
}

/// The ids held by a published index: the live tracks' ids from every metadata shard.
pub fn all_ids(local: &mut LocalIndex) -> anyhow::Result<Vec<String>> {
    let m = local.index.manifest().clone();
    let mut ids = Vec::new();
    for g in &m.generations {
        let mut p = g.first_position;
        // A shard at a time: a whole catalog's metadata decoded is 2 kB per track.
        each_meta_shard(local, g, |shard| {
            for track in shard.tracks {
                if !local.index.is_removed(p) {
                    ids.push(track.id);
                }
                p += 1;
            }
            Ok(())
        })?;
    }
    Ok(ids)
}

/// Every metadata shard of generation `g`, from its whole part (checked).
fn meta_shards(
    local: &LocalIndex,
    g: &simsong::index::parts::manifest::Generation,
) -> anyhow::Result<Vec<MetaShard>> {
    let mut shards = Vec::new();
    each_meta_shard(local, g, |shard| {
        shards.push(shard);
        Ok(())
    })?;
    Ok(shards)
}

/// Gives every metadata shard of generation `g` to `each`, in order, decoding one at a time
/// from the whole part (checked).
fn each_meta_shard(
    local: &LocalIndex,
    g: &simsong::index::parts::manifest::Generation,
    mut each: impl FnMut(MetaShard) -> simsong::Result<()>,
) -> anyhow::Result<()> {
    let m = local.index.manifest();
    let name = g.meta.file_name(PartKind::Meta);
    let bytes = read_part(&local.dir, &name, &g.meta.xxh3)?;
    m.envelope(PartKind::Meta, g.generation)
        .open(&bytes, &name)?;
    let seed = simsong::index::parts::range_seed(&m.index_id_bytes());
    each_shard(
        &bytes,
        m.meta_shards(g),
        seed,
        g.generation,
        &name,
        |_, shard| each(shard),
    )?;
    Ok(())
}

/// Bytes of every part of one kind, over all generations.
pub fn bytes_by_kind(m: &Manifest) -> Vec<(PartKind, usize, u64)> {
    let kinds = [
        PartKind::Quantizer,
        PartKind::Codes,
        PartKind::Filters,
        PartKind::Rerank,
        PartKind::Meta,
        PartKind::Segments,
        PartKind::Ids,
        PartKind::Neighbours,
    ];
    kinds
        .iter()
        .map(|&k| {
            let parts: Vec<_> = m
                .all_parts()
                .into_iter()
                .filter(|(kind, _, _)| *kind == k)
                .collect();
            (k, parts.len(), parts.iter().map(|(_, _, p)| p.bytes).sum())
        })
        .collect()
}
