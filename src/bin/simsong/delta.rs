//! Changing and inspecting a published index: `index add` / `index remove` as delta
//! generations, `index rebuild-codes`, `index info`.
//!
//! A delta adds a generation whose parts are new files; every part already published keeps
//! its name and bytes, so a page with them cached fetches only the new manifest and the
//! delta's cell tables (then its cells, metadata and rows as it needs them; its codes and filters parts at idle).

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use simsong::CatalogIndex;
use simsong::catalog::files::publish_into;
use simsong::index::publish::{Delta, PartSizes, Published, publish_base_to, publish_delta_to};
use simsong::index::train::QuantizerShape;
use simsong::index::versions::VersionLink;
use simsong::versions::audit::AuditScope;

use crate::published::{self, LocalIndex, read_fetch};

/// The live track ids of a published index.
pub fn existing_ids(path: &Path) -> anyhow::Result<HashSet<String>> {
    let mut local = LocalIndex::open(path)?;
    Ok(published::all_ids(&mut local)?.into_iter().collect())
}

/// A part file of the published index in `dir`, for the neighbour lists of a delta.
fn read_local(dir: &Path, name: &str) -> simsong::Result<Vec<u8>> {
    std::fs::read(dir.join(name)).map_err(|e| simsong::Error::IndexPart {
        part: name.to_string(),
        problem: format!("cannot read it: {e}"),
    })
}

/// `index add` on a published index: `added` (same model) becomes a delta generation coded with
/// the index's codebooks. Ids already in the index are refused.
///
/// Versions: the added tracks are grouped among themselves, and join the published groups of
/// the tracks they declare (`version_of`) a version of. With `catalog` (the one-file index the
/// folder was published from, which holds the published tracks' fingerprints) the version audit
/// runs too, the new tracks against every track, and a new track found to be a version of a
/// published one joins its group; `catalog` is then saved with the new tracks, so that it stays
/// the catalog of what is published.
pub fn add(path: &Path, mut added: CatalogIndex, catalog: Option<&Path>) -> anyhow::Result<()> {
    let mut local = LocalIndex::open(path)?;
    let manifest = local.index.manifest().clone();
    if manifest.model.sha256 != added.header().model_sha256 {
        bail!(
            "the index was built with model {} ({}), the tracks to add with {}: add with the same model, or rebuild",
            manifest.model.name,
            &manifest.model.sha256[..12],
            added.header().model_name
        );
    }
    let existing: HashSet<String> = published::all_ids(&mut local)?.into_iter().collect();
    if let Some(dup) = added.tracks().iter().find(|t| existing.contains(&t.id)) {
        bail!(
            "track id `{}` is already in the index (remove it first to replace it)",
            dup.id
        );
    }
    let (joined, master) = match catalog {
        Some(catalog) => {
            let (joined, master) = audit_against(&mut local, &existing, &mut added, catalog)?;
            (joined, Some((master, catalog)))
        }
        None => (declared_joins(&mut local, &added)?, None),
    };
    let quantizer = local.quantizer()?;
    let delta = Delta {
        manifest: &manifest,
        quantizer: &quantizer,
        added: &added,
        removed: Vec::new(),
        joined: &joined,
    };
    let published = publish_into(&local.dir, |sink| {
        publish_delta_to(delta, &|name| read_local(&local.dir, name), sink)
    })?;
    report_delta(&published, added.len(), 0)?;
    let songs: HashSet<u32> = joined.iter().map(|&(_, g)| g).collect();
    eprintln!(
        "versions: {} added tracks join {} published songs",
        joined.len(),
        songs.len()
    );
    if let Some((master, catalog)) = master {
        // After the delta is written: a failed publication leaves the catalog as it was.
        crate::index_cmd::save(&master, catalog)?;
        eprintln!(
            "{}: {} tracks, the new ones included",
            catalog.display(),
            master.len()
        );
    }
    Ok(())
}

/// The published version group of the live track `id`, or None when it is not in the index.
fn published_group(local: &mut LocalIndex, id: &str) -> anyhow::Result<Option<u32>> {
    for key in local.index.id_keys(id) {
        provide(local, key)?;
    }
    let Some(position) = local.index.position_of(id)? else {
        return Ok(None);
    };
    if let Some(key) = local.index.rerank_key(position) {
        provide(local, key)?;
    }
    let locator = local
        .index
        .hit_locator(position)
        .with_context(|| format!("the re-ranking row of `{id}`"))?;
    Ok(Some(locator.version_group))
}

/// Reads `key`'s piece from the folder into the index, unless it is there.
fn provide(local: &mut LocalIndex, key: simsong::index::parted::PartKey) -> anyhow::Result<()> {
    if local.index.has(key) {
        return Ok(());
    }
    let fetch = local
        .index
        .fetch_for(key)
        .with_context(|| format!("{key} needs another part first"))?;
    let bytes = read_fetch(&local.dir, &fetch)?;
    local.index.provide(key, &bytes)?;
    Ok(())
}

/// `(position in added, published group)` for each added track whose declared `version_of`
/// names a published track.
fn declared_joins(local: &mut LocalIndex, added: &CatalogIndex) -> anyhow::Result<Vec<(u32, u32)>> {
    let mut joined = Vec::new();
    for (position, id) in &added.versions().declared {
        if added.position(id).is_some() {
            continue; // a version of another added track: grouped among them
        }
        match published_group(local, id)? {
            Some(group) => joined.push((*position, group)),
            None => eprintln!(
                "track `{}`: version_of names `{id}`, which is in neither the index nor the tracks added",
                added.tracks()[*position as usize].id
            ),
        }
    }
    Ok(joined)
}

/// Audits `added` against `catalog` (the one-file index of the published tracks), gives
/// `added` the links among its own tracks, and returns the joins to published groups and the
/// catalog with the added tracks appended.
fn audit_against(
    local: &mut LocalIndex,
    existing: &HashSet<String>,
    added: &mut CatalogIndex,
    catalog: &Path,
) -> anyhow::Result<(Vec<(u32, u32)>, CatalogIndex)> {
    let mut master = crate::index_cmd::load(catalog)?;
    if master.header().model_sha256 != added.header().model_sha256 {
        bail!(
            "{} was built with model {}, the tracks to add with {}",
            catalog.display(),
            master.header().model_name,
            added.header().model_name
        );
    }
    let missing = existing
        .iter()
        .filter(|id| master.position(id).is_none())
        .count();
    if missing > 0 || master.len() != existing.len() {
        bail!(
            "{} is not the catalog this index was published from: it holds {} tracks, the index {} ({missing} of the index's are not in it); pass the one-file index the folder was published from (`index merge FILE.idx --out DIR`), with the same tracks added and removed since",
            catalog.display(),
            master.len(),
            existing.len()
        );
    }
    let first_new = master.len() as u32;
    master.append(added)?;
    crate::versions_cmd::audit_into(&mut master, AuditScope::From(first_new))?;
    let groups = master.version_groups();
    // Each group's first published track, by group.
    let mut old_member: HashMap<u32, usize> = HashMap::new();
    for (position, &g) in groups.iter().enumerate().take(first_new as usize) {
        old_member.entry(g).or_insert(position);
    }
    let mut joined = Vec::new();
    for (position, group) in groups.iter().enumerate().skip(first_new as usize) {
        if let Some(&old) = old_member.get(group) {
            let id = master.tracks()[old].id.clone();
            let group = published_group(local, &id)?
                .with_context(|| format!("`{id}` is in the catalog but not in the index"))?;
            joined.push((position as u32 - first_new, group));
        }
    }
    // The links among the added tracks themselves, in their own positions.
    let own: Vec<VersionLink> = master
        .versions()
        .links
        .iter()
        .filter(|l| l.part >= first_new && l.whole >= first_new)
        .map(|l| VersionLink {
            part: l.part - first_new,
            whole: l.whole - first_new,
            ..*l
        })
        .collect();
    added.set_versions(own);
    Ok((joined, master))
}

/// `index remove` on a published index.
pub fn remove(path: &Path, ids: &[String]) -> anyhow::Result<ExitCode> {
    let mut local = LocalIndex::open(path)?;
    let mut positions = Vec::new();
    let mut missing = 0;
    for id in ids {
        for key in local.index.id_keys(id) {
            provide(&mut local, key)?;
        }
        match local.index.position_of(id)? {
            Some(p) => positions.push(p),
            None => {
                missing += 1;
                eprintln!("no track with id `{id}` in the index");
            }
        }
    }
    if positions.is_empty() {
        bail!("none of the ids is in the index");
    }
    let manifest = local.index.manifest().clone();
    let quantizer = local.quantizer()?;
    let empty = published::empty_catalog(&manifest)?;
    let removed = positions.len();
    let delta = Delta {
        manifest: &manifest,
        quantizer: &quantizer,
        added: &empty,
        removed: positions,
        joined: &[],
    };
    let published = publish_into(&local.dir, |sink| {
        publish_delta_to(delta, &|name| read_local(&local.dir, name), sink)
    })?;
    report_delta(&published, 0, removed)?;
    Ok(if missing == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

/// Says what a delta wrote and what a page holding the old parts will fetch.
fn report_delta(published: &Published, added: usize, removed: usize) -> anyhow::Result<()> {
    let g = published
        .manifest
        .generations
        .last()
        .expect("a delta was appended");
    let manifest_bytes = published.manifest.to_json().len() as u64;
    eprintln!(
        "generation {}: {added} tracks added, {removed} removed; {} new parts, {:.2} MB in all",
        g.generation,
        published.parts.len(),
        published::parts_bytes(published) as f64 / 1e6
    );
    eprintln!(
        "a page that has the earlier parts fetches the manifest ({:.1} kB) and the delta's cell \
         table before its next search ({:.1} kB of codes and {:.1} kB of filters in all)",
        manifest_bytes as f64 / 1e3,
        g.codes.bytes as f64 / 1e3,
        g.filters.bytes as f64 / 1e3
    );
    published::report_neighbours(published);
    if published.manifest.generations.len() > 8 {
        eprintln!(
            "hint: {} generations; `simsong index rebuild-codes` folds them into one",
            published.manifest.generations.len()
        );
    }
    Ok(())
}

/// `index rebuild-codes`: every live track into a new base, with new or kept codebooks.
pub fn rebuild_codes(
    path: &Path,
    keep_codebooks: bool,
    shape: QuantizerShape,
    sizes: PartSizes,
) -> anyhow::Result<ExitCode> {
    let local = LocalIndex::open(path)?;
    let catalog = published::to_catalog(&local)?;
    if catalog.is_empty() {
        bail!("the index holds no live track");
    }
    let tracks = catalog.len();
    if keep_codebooks {
        let quantizer = local.quantizer()?;
        publish_into(&local.dir, |sink| {
            publish_base_to(catalog, quantizer, sizes, sink)
        })?;
    } else {
        published::publish_catalog(catalog, shape, sizes, &local.dir)?;
    }
    eprintln!(
        "rebuilt {}: {tracks} tracks in one generation{}",
        local.dir.display(),
        if keep_codebooks {
            " (codebooks kept)"
        } else {
            ", codebooks retrained"
        }
    );
    Ok(ExitCode::SUCCESS)
}

/// `index info` on a published index.
pub fn info(path: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let local = LocalIndex::open(path).with_context(|| format!("index {}", path.display()))?;
    let m = local.index.manifest();
    let positions = m.total_positions() as f64;
    let kinds = published::bytes_by_kind(m);
    let per_track = |bytes: u64| bytes as f64 / positions.max(1.0);
    if json {
        let parts: serde_json::Map<String, serde_json::Value> = kinds
            .iter()
            .map(|(k, count, bytes)| {
                (
                    k.name().to_string(),
                    serde_json::json!({ "files": count, "bytes": bytes, "bytesPerTrack": per_track(*bytes) }),
                )
            })
            .collect();
        let value = serde_json::json!({
            "manifest": m,
            "tracks": m.live_tracks(),
            "positions": m.total_positions(),
            "manifestBytes": m.to_json().len(),
            "parts": parts,
            "tags": local.index.tag_counts(false),
            "predictedTags": local.index.tag_counts(true),
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "tracks:      {} live ({} positions, {} generations)",
        m.live_tracks(),
        m.total_positions(),
        m.generations.len()
    );
    println!(
        "model:       {} (sha256 {}){}",
        m.model.name,
        m.model.sha256,
        if m.model.trained {
            ""
        } else {
            ", UNTRAINED test fixture"
        }
    );
    println!(
        "codes:       {} bytes per track (product-quantised residuals in {} cells)",
        m.layout.code_bytes, m.layout.centroids
    );
    println!("index id:    {}", m.index_id);
    println!("manifest:    {:.1} kB", m.to_json().len() as f64 / 1e3);
    for (kind, count, bytes) in &kinds {
        println!(
            "{:<12} {count:>6} files {:>10.2} MB  {:>8.1} bytes/track",
            format!("{}:", kind.name()),
            *bytes as f64 / 1e6,
            per_track(*bytes)
        );
    }
    for (label, predicted) in [("tags", false), ("predicted tags", true)] {
        for (category, values) in local.index.tag_counts(predicted) {
            let list: Vec<String> = values.iter().map(|(v, n)| format!("{v} ({n})")).collect();
            println!("{label} {category}: {}", list.join(", "));
        }
    }
    Ok(ExitCode::SUCCESS)
}
