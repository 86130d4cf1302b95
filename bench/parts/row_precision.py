"""How precisely the re-ranking rows keep a catalog's ranking, on the catalog's own vectors.

A track's top 10 by its dequantised rows (query = its own row, as the neighbour lists and a
page's search by track use it) against its exact f32 top 10, for the row forms a published
index could store: int8 of the embedding, int8 of the residual from the catalog mean, int8 of
the residual from the track's first-stage cell centroid (what format 8 stores), and f16.
The cells come from k-means (256, faiss) on a 60,000-track sample, as the quantiser's first
stage does.

    python bench/parts/row_precision.py SYNTH_DIR [QUERIES]   (SYNTH_DIR/embeddings.npy)
"""

import json
import sys

import faiss
import numpy as np


def int8(rows):
    scale = np.abs(rows).max(1, keepdims=True) / 127
    return np.round(rows / scale) * scale


def main():
    x = np.load(f"{sys.argv[1]}/embeddings.npy").astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    queries = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    n, d = x.shape
    rng = np.random.default_rng(0)
    km = faiss.Kmeans(d, 256, niter=10, seed=1)
    km.train(x[rng.choice(n, min(n, 60000), replace=False)])
    _, cell = km.index.search(x, 1)
    centroids = km.centroids[cell[:, 0]]
    mean = x.mean(0)
    forms = {
        "int8": int8(x),
        "int8_mean_removed": mean + int8(x - mean),
        "int8_cell_residual": centroids + int8(x - centroids),
        "f16": x.astype(np.float16).astype(np.float32),
    }
    picked = rng.choice(n, queries, replace=False)
    exact = np.argsort(-(x[picked] @ x.T), axis=1)[:, 1:11]
    out = {"tracks": n, "queries": queries,
           "residual_norm_mean": float(np.linalg.norm(x - centroids, axis=1).mean())}
    for name, rows in forms.items():
        rows = rows / np.linalg.norm(rows, axis=1, keepdims=True)
        got = np.argsort(-(rows[picked] @ rows.T), axis=1)[:, 1:11]
        out[name] = float(np.mean([len(set(e) & set(g)) / 10 for e, g in zip(exact, got)]))
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
