#!/usr/bin/env python3
"""The published SparseGPT and GPTQ algorithms in PyTorch float32: the peer `bench compress` is
measured against (bench/compress-vs-peer runs both, one after the other).

The per-layer loops are those of the reference code, IST-DASLab/sparsegpt `SparseGPT.fasterprune`
(unstructured, blocksize 128, percdamp 0.01) and IST-DASLab/gptq `GPTQ.fasterquant` with its
`Quantizer` (asymmetric min-max, group size 128, blocksize 128, percdamp 0.01, no act-order), on
the same kind of layer as `bench compress`: a weight W ~ N(0, 0.02^2) of shape [rows, cols] and
H = (2/n) X^T X from n = 2 cols random inputs whose features have log-normal scales exp(N(0, 0.5^2)).

Needs only Debian's python3-torch with libopenblas0-pthread (without OpenBLAS, Debian's torch uses
the slow reference LAPACK); never a build or test dependency of the project. Prints one JSON object.

Usage: bench/compress_peer.py [--shapes 2048x5632,4096x14336] [--iters K] [--threads T]
"""
import argparse
import json
import math
import sys
import time

import torch


def random_layer(rows, cols, seed):
    g = torch.Generator().manual_seed(seed)
    n = 2 * cols
    scale = torch.exp(0.5 * torch.randn(cols, generator=g))
    x = torch.randn(n, cols, generator=g) * scale
    h = x.t().matmul(x).mul_(2.0 / n)
    del x
    w = torch.randn(rows, cols, generator=g) * 0.02
    return w, h


def inverse_factor(h, percdamp=0.01):
    """The reference's dead inputs, dampening and U = chol(chol_inverse(chol(H)), upper)."""
    h = h.clone()
    dead = torch.diag(h) == 0
    h[dead, dead] = 1
    damp = percdamp * torch.mean(torch.diag(h))
    diag = torch.arange(h.shape[0])
    h[diag, diag] += damp
    h = torch.linalg.cholesky(h)
    h = torch.cholesky_inverse(h)
    return torch.linalg.cholesky(h, upper=True), dead


def sparsegpt(weight, h, sparsity, blocksize=128):
    """SparseGPT.fasterprune, unstructured, pruning only."""
    W = weight.clone().float()
    rows, columns = W.shape
    Hinv, dead = inverse_factor(h)
    W[:, dead] = 0
    Losses = torch.zeros(rows)
    for i1 in range(0, columns, blocksize):
        i2 = min(i1 + blocksize, columns)
        count = i2 - i1
        W1 = W[:, i1:i2].clone()
        Q1 = torch.zeros_like(W1)
        Err1 = torch.zeros_like(W1)
        Losses1 = torch.zeros_like(W1)
        Hinv1 = Hinv[i1:i2, i1:i2]
        tmp = W1 ** 2 / (torch.diag(Hinv1).reshape((1, -1))) ** 2
        thresh = torch.sort(tmp.flatten())[0][int(tmp.numel() * sparsity)]
        mask1 = tmp <= thresh
        for i in range(count):
            w = W1[:, i]
            d = Hinv1[i, i]
            q = w.clone()
            q[mask1[:, i]] = 0
            Q1[:, i] = q
            Losses1[:, i] = (w - q) ** 2 / d ** 2
            err1 = (w - q) / d
            W1[:, i:] -= err1.unsqueeze(1).matmul(Hinv1[i, i:].unsqueeze(0))
            Err1[:, i] = err1
        W[:, i1:i2] = Q1
        Losses += torch.sum(Losses1, 1) / 2
        W[:, i2:] -= Err1.matmul(Hinv[i1:i2, i2:])
    return W, float(torch.sum(Losses))


class Quantizer:
    """gptq/quant.py Quantizer, asymmetric, per row (weight=True), no MSE search."""

    def __init__(self, bits):
        self.maxq = torch.tensor(2 ** bits - 1)

    def find_params(self, x):
        tmp = torch.zeros(x.shape[0])
        xmin = torch.minimum(x.min(1)[0], tmp)
        xmax = torch.maximum(x.max(1)[0], tmp)
        tmp = (xmin == 0) & (xmax == 0)
        xmin[tmp] = -1
        xmax[tmp] = +1
        self.scale = ((xmax - xmin) / self.maxq).unsqueeze(1)
        self.zero = torch.round(-xmin / self.scale.flatten()).unsqueeze(1)

    def quantize(self, x):
        q = torch.clamp(torch.round(x / self.scale) + self.zero, 0, self.maxq)
        return self.scale * (q - self.zero)


def gptq(weight, h, bits, groupsize=128, blocksize=128):
    """GPTQ.fasterquant, no act-order, static_groups False."""
    W = weight.clone().float()
    rows, columns = W.shape
    quantizer = Quantizer(bits)
    Hinv, dead = inverse_factor(h)
    W[:, dead] = 0
    Q = torch.zeros_like(W)
    Losses = torch.zeros_like(W)
    for i1 in range(0, columns, blocksize):
        i2 = min(i1 + blocksize, columns)
        count = i2 - i1
        W1 = W[:, i1:i2].clone()
        Q1 = torch.zeros_like(W1)
        Err1 = torch.zeros_like(W1)
        Losses1 = torch.zeros_like(W1)
        Hinv1 = Hinv[i1:i2, i1:i2]
        for i in range(count):
            w = W1[:, i]
            d = Hinv1[i, i]
            if (i1 + i) % groupsize == 0:
                quantizer.find_params(W[:, (i1 + i):(i1 + i + groupsize)])
            q = quantizer.quantize(w.unsqueeze(1)).flatten()
            Q1[:, i] = q
            Losses1[:, i] = (w - q) ** 2 / d ** 2
            err1 = (w - q) / d
            W1[:, i:] -= err1.unsqueeze(1).matmul(Hinv1[i, i:].unsqueeze(0))
            Err1[:, i] = err1
        Q[:, i1:i2] = Q1
        Losses[:, i1:i2] = Losses1 / 2
        W[:, i2:] -= Err1.matmul(Hinv[i1:i2, i2:])
    return Q, float(torch.sum(Losses))


def median_seconds(iters, task):
    seconds = []
    result = None
    for _ in range(iters):
        start = time.perf_counter()
        result = task()
        seconds.append(time.perf_counter() - start)
    seconds.sort()
    mid = len(seconds) // 2
    return (seconds[mid] if len(seconds) % 2 else (seconds[mid - 1] + seconds[mid]) / 2), result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shapes", default="2048x5632,4096x14336", help="ROWSxCOLS,... (down_proj [hidden x intermediate])")
    parser.add_argument("--iters", type=int, default=1, help="timed runs per figure, median reported")
    parser.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: one per CPU core)")
    args = parser.parse_args()
    import os
    torch.set_num_threads(args.threads if args.threads > 0 else os.cpu_count())
    try:
        shapes = [tuple(int(v) for v in s.lower().split("x")) for s in args.shapes.split(",")]
    except ValueError:
        sys.exit("--shapes must be ROWSxCOLS[,ROWSxCOLS...], e.g. 2048x5632, but was " + args.shapes)
    out = {"peer": "published SparseGPT/GPTQ, PyTorch float32", "torch": torch.__version__,
           "threads": torch.get_num_threads(), "blas": blas(), "layers": []}
    for rows, cols in shapes:
        print(f"peer: layer [{rows} x {cols}]: building H from {2 * cols} random inputs", file=sys.stderr, flush=True)
        w, h = random_layer(rows, cols, 7 * cols + rows)
        factor, _ = median_seconds(args.iters, lambda: inverse_factor(h))
        print(f"peer: [{rows} x {cols}] factor {factor:.2f} s", file=sys.stderr, flush=True)
        sg, (_, sg_loss) = median_seconds(args.iters, lambda: sparsegpt(w, h, 0.5))
        print(f"peer: [{rows} x {cols}] sparsegpt 50% {sg:.2f} s", file=sys.stderr, flush=True)
        gq, (_, gq_loss) = median_seconds(args.iters, lambda: gptq(w, h, 4))
        print(f"peer: [{rows} x {cols}] gptq 4-bit g128 {gq:.2f} s", file=sys.stderr, flush=True)
        out["layers"].append({"rows": rows, "cols": cols, "factor_seconds": factor,
                              "methods": [{"method": "sparsegpt 50%", "seconds": sg, "error_estimate": sg_loss},
                                          {"method": "gptq 4-bit g128", "seconds": gq, "error_estimate": gq_loss}]})
        del w, h
    print(json.dumps(out, indent=2))


def blas():
    """The BLAS and LAPACK Debian's torch loads (libblas.so.3 / liblapack.so.3 alternatives)."""
    import os
    found = []
    for lib in ("libblas.so.3", "liblapack.so.3"):
        path = os.path.realpath("/usr/lib/x86_64-linux-gnu/" + lib)
        found.append(os.path.relpath(path, "/usr/lib/x86_64-linux-gnu") if os.path.exists(path) else lib + " not found")
    return ", ".join(found)


if __name__ == "__main__":
    main()
