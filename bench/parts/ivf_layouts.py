"""How many bytes a search must read for recall@10 >= 0.95: inverted-file layouts on a synthetic
store catalog, measured with faiss (the design study behind docs/first-result.md).

    python bench/parts/ivf_layouts.py SYNTH_DIR [--out bench/results/ivf-layouts.json]

SYNTH_DIR is scripts/synth_catalog.py's output (embeddings.npy, queries.npz). Queries: 300
catalog tracks (each search leaves its reference out) and 350 dropped-file queries (real music of
the held-out packages: whole tracks, and runs of their segments). Truth: an exact inner-product
scan. For every layout (coarse k-means cells, faiss's IndexIVF* with codes of the residual to
the cell's centroid) and probe count: the share of the true top 10 in the probed cells (the
most any code can reach), recall@10 of the codes alone, and after re-ranking a shortlist of 50
or 200 with the exact vectors (what the int8 re-ranking rows give, to within rounding); tracks
scanned per query and the bytes of their codes. Coarse centroids and codebooks are counted
apart (`fixed_bytes`, at one byte per value).
"""

import argparse
import json
import pathlib
import sys
import time

import faiss
import numpy as np


def layouts(dim, nlist):
    ip = faiss.METRIC_INNER_PRODUCT
    return {
        "PQ32x8": (lambda q: faiss.IndexIVFPQ(q, dim, nlist, 32, 8, ip), 32, 32 * 256 * (dim // 32)),
        "PQ64x8": (lambda q: faiss.IndexIVFPQ(q, dim, nlist, 64, 8, ip), 64, 64 * 256 * (dim // 64)),
        "SQ4": (lambda q: faiss.IndexIVFScalarQuantizer(q, dim, nlist, faiss.ScalarQuantizer.QT_4bit, ip, True), dim // 2, 2 * dim),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("synth", type=pathlib.Path)
    ap.add_argument("--out", type=pathlib.Path, default=pathlib.Path("bench/results/ivf-layouts.json"))
    ap.add_argument("--nlists", default="1024,4096")
    ap.add_argument("--probes", default="8,16,32,64")
    args = ap.parse_args()
    x = np.load(args.synth / "embeddings.npy").astype(np.float32)
    n, dim = x.shape
    rng = np.random.default_rng(0)
    train = x[rng.choice(n, min(n, 200_000), replace=False)]
    qi = rng.choice(n, 300, replace=False)
    qd = np.load(args.synth / "queries.npz")
    sets = {"track": (x[qi], qi), "dropped": (np.concatenate([qd["dropped_tracks"], qd["dropped_parts"][:150]]), None)}
    flat = faiss.IndexFlatIP(dim)
    flat.add(x)

    def top10(ids, exclude, r):
        return [i for i in ids if exclude is None or i != exclude[r]][:10]

    truth = {name: [top10(row, ex, r) for r, row in enumerate(flat.search(q, 11)[1])] for name, (q, ex) in sets.items()}

    def recall(found, name, ex):
        return float(np.mean([len(set(top10(row, ex, r)) & set(truth[name][r])) / 10 for r, row in enumerate(found)]))

    rows = []
    for nlist in [int(v) for v in args.nlists.split(",")]:
        for lname, (make, code_bytes, codebook_values) in layouts(dim, nlist).items():
            t0 = time.time()
            quantizer = faiss.IndexFlatIP(dim)
            ivf = make(quantizer)
            ivf.train(train)
            ivf.add(x)
            centroids = quantizer.reconstruct_n(0, nlist)
            assign = quantizer.search(x, 1)[1][:, 0]
            refine = faiss.IndexRefineFlat(ivf, faiss.swig_ptr(x))
            for name, (q, ex) in sets.items():
                order = np.argsort(-(q @ centroids.T), axis=1)
                for nprobe in [int(v) for v in args.probes.split(",")]:
                    ivf.nprobe = nprobe
                    in_cells = float(np.mean([np.isin(assign[truth[name][r]], order[r, :nprobe]).mean() for r in range(len(q))]))
                    faiss.cvar.indexIVF_stats.reset()
                    codes_only = recall(ivf.search(q, 11)[1], name, ex)
                    scanned = faiss.cvar.indexIVF_stats.ndis / len(q)
                    reranked = {}
                    for shortlist in (50, 200):
                        refine.k_factor = shortlist / 11
                        reranked[str(shortlist)] = recall(refine.search(q, 11)[1], name, ex)
                    row = {"nlist": nlist, "codes": lname, "queries": name, "nprobe": nprobe,
                           "true_top10_in_probed_cells": round(in_cells, 4), "recall_codes_only": round(codes_only, 4),
                           "recall_reranked": {k: round(v, 4) for k, v in reranked.items()},
                           "tracks_scanned": round(scanned), "code_bytes_per_track": code_bytes,
                           "code_bytes_scanned": round(scanned * code_bytes),
                           "fixed_bytes": {"coarse_centroids": nlist * dim, "codebooks": codebook_values}}
                    rows.append(row)
                    print(json.dumps(row), flush=True)
            print(f"{lname} at nlist {nlist}: {time.time() - t0:.0f} s", file=sys.stderr)
    summary = json.loads((args.synth / "synth.json").read_text())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"catalog": summary, "queries": {k: len(v[0]) for k, v in sets.items()},
                                    "date": time.strftime("%Y-%m-%d"), "faiss": faiss.__version__, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
