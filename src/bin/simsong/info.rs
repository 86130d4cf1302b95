//! `simsong index info` of a one-file index: its header, size, versions and tag counts.

use simsong::CatalogIndex;

/// Version groups of more than one track.
fn version_groups(index: &CatalogIndex) -> usize {
    crate::versions_cmd::group_members(index).len()
}

pub fn print_info(index: &CatalogIndex, file_bytes: usize, json: bool) -> anyhow::Result<()> {
    let h = index.header();
    let segments = index.segments().starts_seconds.len();
    if json {
        let value = serde_json::json!({
            "header": h,
            "tracks": index.len(),
            "segments": segments,
            "precision": index.embeddings().precision(),
            "fileBytes": file_bytes,
            "fingerprints": index.fingerprints().count(),
            "fingerprintBytes": index.fingerprints().total_bytes(),
            "versionLinks": index.versions().links.len(),
            "versionGroups": version_groups(index),
            "tags": index.tag_counts(false),
            "predictedTags": index.tag_counts(true),
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    println!("tracks:     {} ({} segments)", index.len(), segments);
    println!(
        "model:      {} (sha256 {}){}",
        h.model_name,
        h.model_sha256,
        if h.model_trained {
            ""
        } else {
            ", UNTRAINED test fixture"
        }
    );
    println!(
        "embeddings: {} values, {:?}",
        h.embedding_dim,
        index.embeddings().precision()
    );
    println!("file:       {:.2} MB", file_bytes as f64 / 1e6);
    println!(
        "versions:   {} of {} tracks fingerprinted ({:.1} MB); {} links in {} groups (simsong index versions)",
        index.fingerprints().count(),
        index.len(),
        index.fingerprints().total_bytes() as f64 / 1e6,
        index.versions().links.len(),
        version_groups(index)
    );
    println!("analysis:   {}", serde_json::to_string(&h.analysis)?);
    println!("created by: {}", h.created_by);
    for (label, predicted) in [("tags", false), ("predicted tags", true)] {
        for (category, values) in index.tag_counts(predicted) {
            let list: Vec<String> = values.iter().map(|(v, n)| format!("{v} ({n})")).collect();
            println!("{label} {category}: {}", list.join(", "));
        }
    }
    Ok(())
}
