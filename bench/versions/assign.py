#!/usr/bin/env python3
"""Gives every track of a synthetic store catalog the fingerprint of a real track, for timing
the version audit at store scale (benches/audit.rs).

    python3 bench/versions/assign.py SYNTH_DIR REAL_TRACKS.jsonl REAL_MANIFEST.csv PAIRS.csv OUT.u32

SYNTH_DIR holds the generator's tracks.jsonl and versions.csv (track, song, kind, seconds);
REAL_TRACKS.jsonl is `simsong index export` of the real index (its ids in position order),
REAL_MANIFEST.csv its manifest (id → file), PAIRS.csv the versions evaluation set (a source
file, an edit of it, the kind of edit). A song with versions takes one real source (round
robin) and each of its versions an edit of that source of the same kind where there is one
(a loop a loop, a 30 s cut-down a 30 s one; otherwise any edit); every other track takes a real
track in turn, so neighbours by embedding mostly hold unrelated audio, as in a store. Writes one
little-endian u32 (a position in the real index) per synthetic track, in catalog order.
"""
import csv
import json
import struct
import sys
from collections import defaultdict


def main():
    synth, real_tracks, manifest, pairs, out = sys.argv[1:6]
    real_ids = [json.loads(line)["id"] for line in open(real_tracks)]
    position = {i: p for p, i in enumerate(real_ids)}
    by_path = {r["audio"]: position[r["id"]] for r in csv.DictReader(open(manifest)) if r["id"] in position}
    families = defaultdict(lambda: defaultdict(list))
    for r in csv.DictReader(open(pairs)):
        if r["label"] == "1" and r["a"] in by_path and r["b"] in by_path:
            families[by_path[r["a"]]][r["kind"]].append(by_path[r["b"]])
    sources = sorted(families)
    ids = [json.loads(line)["id"] for line in open(f"{synth}/tracks.jsonl")]
    at = {t: i for i, t in enumerate(ids)}
    versions = list(csv.DictReader(open(f"{synth}/versions.csv")))
    assign = [None] * len(ids)
    song_source = {}
    for v in versions:
        song = v["song"]
        if song not in song_source:
            song_source[song] = sources[len(song_source) % len(sources)]
            assign[at[song]] = song_source[song]
    used = defaultdict(int)
    for v in versions:
        family = families[song_source[v["song"]]]
        kind = "loop" if v["kind"] == "loop" else f"cut-{v['seconds']}" if v["seconds"] else None
        choices = family.get(kind) or [e for edits in family.values() for e in edits]
        key = (v["song"], kind)
        assign[at[v["track"]]] = choices[used[key] % len(choices)]
        used[key] += 1
    k = 0
    for i, a in enumerate(assign):
        if a is None:
            assign[i] = k % len(real_ids)
            k += 1
    with open(out, "wb") as f:
        f.write(struct.pack(f"<{len(assign)}I", *assign))
    print(json.dumps({"tracks": len(ids), "songs_with_versions": len(song_source), "versions": len(versions),
                      "sources": len(sources), "real_tracks": len(real_ids)}))


if __name__ == "__main__":
    main()
