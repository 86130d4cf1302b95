"""faiss on the same vectors, the same queries and the same filter as benches/parts.rs, at the same
32 code bytes per track: what a store would pick instead of our codes.

    python bench/parts/faiss_bench.py SYNTH_DIR [QUERIES]   → JSON on stdout

SYNTH_DIR holds embeddings.npy and tracks.jsonl (scripts/synth_catalog.py), in index order. The
queries are the catalog tracks (i * 7919 + 13) % n, as in benches/parts.rs; each search leaves
the query track out; the truth is an exact inner-product scan (faiss IndexFlatIP). The filter keeps
the tracks tagged use:wedding (~1%). One thread, as a page has.
"""

import json
import pathlib
import sys
import time

import faiss
import numpy as np


def main():
    synth = pathlib.Path(sys.argv[1])
    queries = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    faiss.omp_set_num_threads(1)
    x = np.load(synth / "embeddings.npy").astype("float32")
    n, d = x.shape
    qi = np.array([(i * 7919 + 13) % n for i in range(queries)])
    q = x[qi]
    wedding = np.array([i for i, line in enumerate(open(synth / "tracks.jsonl"))
                        if json.loads(line)["tags"].get("use") == ["wedding"]], dtype="int64")

    def truth(ids=None):
        flat = faiss.IndexFlatIP(d)
        flat.add(x if ids is None else x[ids])
        _, found = flat.search(q, 11)
        out = []
        for row, me in zip(found, qi):
            row = [int(j) if ids is None else int(ids[j]) for j in row if j >= 0]
            out.append([j for j in row if j != me][:10])
        return out

    exact = {"unfiltered": truth(), "filtered": truth(wedding)}

    def recall(found, label):
        total = 0.0
        for row, me, gt in zip(found, qi, exact[label]):
            got = [int(j) for j in row if j >= 0 and j != me][:10]
            total += len(set(got) & set(gt)) / max(1, len(gt))
        return total / len(qi)

    # Our layout: one cell per 600 tracks (src/index/train.rs), 32 of them probed, 32-byte PQ
    # codes of the residual, a shortlist of 200 re-ranked with int8 rows.
    nlist = max(1, min(2048, n // 600))
    probes = min(32, nlist)
    train = x[np.linspace(0, n - 1, min(n, 65536)).astype(int)]
    variants = {
        "IndexPQ (32 bytes)": ("PQ32", {}),
        f"IndexIVFPQ (32 bytes, {nlist} lists, nprobe {probes})": (f"IVF{nlist},PQ32", {"nprobe": probes}),
        f"IndexIVFPQ (32 bytes, {nlist} lists, all probed)": (f"IVF{nlist},PQ32", {"nprobe": nlist}),
        "IndexResidualQuantizer (32 bytes, greedy)": ("RQ32x8_Nnone", {"beam": 1}),
        "IndexResidualQuantizer + int8 refine of 20·k = 200 (32 + 128 bytes)": ("RQ32x8_Nnone,Refine(SQ8)", {"beam": 1, "k_factor": 20}),
        f"IndexIVFPQ + int8 refine of 20·k = 200 (32 + 128 bytes, {nlist} lists, nprobe {probes}: our scheme)": (f"IVF{nlist},PQ32,Refine(SQ8)", {"nprobe": probes, "k_factor": 20}),
    }
    report = {"tracks": n, "queries": queries, "filter_share": len(wedding) / n, "faiss": faiss.__version__, "variants": {}}
    built = {}
    for name, (spec, opts) in variants.items():
        started = time.time()
        if spec not in built:
            trained = faiss.index_factory(d, spec, faiss.METRIC_INNER_PRODUCT)
            if "beam" in opts:
                base = faiss.downcast_index(trained.base_index) if "Refine" in spec else trained
                base.rq.max_beam_size = opts["beam"]
            trained.train(train)
            # The filtered search runs on an index of the filtered tracks only, coded with the
            # same trained quantiser (not every faiss index takes an ID selector).
            both = {}
            for label, rows in (("unfiltered", None), ("filtered", wedding)):
                index = faiss.clone_index(trained)
                index.add(x if rows is None else x[rows])
                both[label] = index
            built[spec] = both
        build_s = time.time() - started
        entry = {"spec": spec, "build_seconds": round(build_s, 1)}
        for label in ("unfiltered", "filtered"):
            index = built[spec][label]
            ivf = faiss.try_extract_index_ivf(index)
            if ivf is not None:
                ivf.nprobe = opts["nprobe"]
            if "k_factor" in opts:
                faiss.downcast_index(index).k_factor = opts["k_factor"]
            started = time.perf_counter()
            _, found = index.search(q, 11)
            per_query_ms = (time.perf_counter() - started) * 1e3 / queries
            if label == "filtered":
                found = np.where(found >= 0, wedding[np.maximum(found, 0)], -1)
            entry[label] = {"recall_at_10": recall(found, label), "ms_per_query": per_query_ms}
        report["variants"][name] = entry
        print(f"{name}: {entry}", file=sys.stderr)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
