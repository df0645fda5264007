"""Time per optimizer step against torch.optim, measured in the same run.

    OMP_NUM_THREADS=1 python benchmarks/optimizer_step.py [--params 16000000]
        [--repeats 15]

For SGD, SGD with momentum and Adam on float32 parameters (four square
matrices) it reports, per step:
- the package's default (fused=None: the fast path for large parameters) and
  its readable step (fused=False),
- torch.optim's default (on CPU, its single-tensor loop) and, for Adam,
  fused=True,
- the memory-traffic floor: the bytes a step must move (Adam reads p, g, m, v
  and writes p, m, v: 28 bytes per float32 parameter) over this machine's
  copy bandwidth, measured with a large NumPy copy,
- the ratios of issue 9's targets: Adam ≤ 0.6x torch's default and ≤ 3.5x
  torch's fused; SGD with momentum ≤ 1.3x torch's default.

The machine may be shared and noisy: every repeat times all the contenders
one after the other (interleaved), so a slow moment hits them all, and the
medians over the repeats are compared. Numbers are machine-dependent; only
the ratios are meaningful. Nothing here is a test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from tinytorch.core.autograd import Variable
from tinytorch.core.optimizers import SGD, Adam
from tinytorch.core.tensor import Tensor

# bytes moved per float32 parameter: 4 bytes for each array read or written
TRAFFIC = {"SGD": 4 * 3, "SGD+momentum": 4 * 5, "Adam": 4 * 7}
# issue 9: (optimizer, torch reference, the largest ratio allowed)
TARGETS = [
    ("Adam", "torch", 0.6),
    ("Adam", "torch fused", 3.5),
    ("SGD+momentum", "torch", 1.3),
]


def interleaved_medians(contenders, repeats):
    """Median seconds of each `fn()`, timing all of them once per repeat."""
    for fn in contenders.values():
        fn()  # warm-up: allocate state, fault in pages
    times = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, fn in contenders.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def copy_bandwidth(n_floats, repeats):
    """Bytes per second of a large float32 copy (reads n, writes n)."""
    src, dst = np.ones(n_floats, np.float32), np.empty(n_floats, np.float32)
    copy = {"copy": lambda: np.copyto(dst, src)}
    return 2 * src.nbytes / interleaved_medians(copy, repeats)["copy"]


def make_parameters(shapes, seed):
    rng = np.random.default_rng(seed)
    params = []
    for shape in shapes:
        p = Variable(
            rng.standard_normal(shape, dtype=np.float32), requires_grad=True
        )
        p.grad = Tensor(rng.standard_normal(shape, dtype=np.float32))
        params.append(p)
    return params


def ours(name, params, fused):
    if name == "Adam":
        return Adam(params, learning_rate=1e-3, fused=fused)
    momentum = 0.9 if name == "SGD+momentum" else 0.0
    return SGD(params, learning_rate=1e-3, momentum=momentum, fused=fused)


def theirs(torch, name, params, **options):
    tensors = [
        torch.nn.Parameter(torch.from_numpy(p.data.copy())) for p in params
    ]
    for t, p in zip(tensors, params):
        t.grad = torch.from_numpy(p.grad.data)  # read only: share it
    if name == "Adam":
        return torch.optim.Adam(tensors, lr=1e-3, **options)
    momentum = 0.9 if name == "SGD+momentum" else 0.0
    return torch.optim.SGD(tensors, lr=1e-3, momentum=momentum, **options)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--params",
        type=int,
        default=16_000_000,
        help="float32 parameters in total",
    )
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    side = int(np.sqrt(args.params // 4))
    shapes = [(side, side)] * 4  # four weight matrices
    n = 4 * side * side
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        torch = None
    threads = os.environ.get("OMP_NUM_THREADS", "unset")
    bandwidth = copy_bandwidth(n, args.repeats)
    print(
        f"{n:,} float32 parameters ({4 * n / 1e6:.0f} MB per array); copy "
        f"bandwidth {bandwidth / 1e9:.1f} GB/s; OMP_NUM_THREADS={threads}; "
        f"medians of {args.repeats} interleaved repeats"
    )
    print(f"{'optimizer':<13} {'contender':<12} {'ms/step':>8} {'x floor':>8}")
    medians = {}
    for name, traffic in TRAFFIC.items():
        params = make_parameters(shapes, seed=0)
        contenders = {
            "ours": ours(name, params, None).step,
            "ours readable": ours(
                name, make_parameters(shapes, seed=0), False
            ).step,
        }
        if torch is not None:
            contenders["torch"] = theirs(torch, name, params).step
            if name == "Adam":
                contenders["torch fused"] = theirs(
                    torch, name, params, fused=True
                ).step
            with torch.no_grad():
                medians[name] = interleaved_medians(contenders, args.repeats)
        else:
            medians[name] = interleaved_medians(contenders, args.repeats)
        floor = traffic * n / bandwidth
        for contender, seconds in medians[name].items():
            print(
                f"{name:<13} {contender:<12} {1e3 * seconds:>8.2f} "
                f"{seconds / floor:>8.2f}"
            )
        del contenders, params
    if torch is None:
        print("torch is not installed: no ratios against torch.optim")
        return
    print("\nissue 9's targets (ours = the package's default, fused=None):")
    for name, reference, limit in TARGETS:
        ratio = medians[name]["ours"] / medians[name][reference]
        verdict = "met" if ratio <= limit else "MISSED"
        print(
            f"  {name:<13} ours / {reference:<12} {ratio:5.2f}x "
            f"(target ≤ {limit}x): {verdict}"
        )


if __name__ == "__main__":
    main()
