"""Time per optimizer step and state memory, against references measured in the same run.

    python benchmarks/optimizer_step.py [--params 16000000] [--repeats 15]

For SGD, SGD with momentum and Adam on float32 parameters it reports:
- state bytes per parameter byte (SGD 0, momentum 1, Adam 2: the module's cost table),
- time per step and its ratio to torch.optim on the same parameters (foreach=False: one tensor at a time,
  like ours),
- the memory-traffic floor: the bytes a step must move (Adam reads p, g, m, v and writes p, m, v: 28 bytes per
  float32 parameter) divided by this machine's copy bandwidth, measured with a large NumPy copy.
Numbers are machine-dependent; only the ratios are meaningful across machines. Nothing here is a test.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from tinytorch.core.autograd import Variable
from tinytorch.core.optimizers import SGD, Adam
from tinytorch.core.tensor import Tensor

# bytes moved per float32 parameter: 4 bytes for each array read or written
TRAFFIC = {"SGD": 4 * 3, "SGD+momentum": 4 * 5, "Adam": 4 * 7}


def median_seconds(fn, repeats):
    fn()  # warm-up: allocate state, fault in pages
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def copy_bandwidth(n_floats, repeats):
    """Bytes per second of a large float32 copy (reads n, writes n)."""
    src, dst = np.ones(n_floats, np.float32), np.empty(n_floats, np.float32)
    seconds = median_seconds(lambda: np.copyto(dst, src), repeats)
    return 2 * src.nbytes / seconds


def make_parameters(shapes, rng):
    params = []
    for shape in shapes:
        p = Variable(
            rng.standard_normal(shape).astype(np.float32), requires_grad=True
        )
        p.grad = Tensor(rng.standard_normal(shape).astype(np.float32))
        params.append(p)
    return params


def ours(name, params):
    if name == "Adam":
        return Adam(params, learning_rate=1e-3)
    return SGD(
        params,
        learning_rate=1e-3,
        momentum=0.9 if name == "SGD+momentum" else 0.0,
    )


def theirs(name, params):
    import torch

    tensors = [
        torch.nn.Parameter(torch.from_numpy(p.data.copy())) for p in params
    ]
    for t, p in zip(tensors, params):
        t.grad = torch.from_numpy(p.grad.data.copy())
    if name == "Adam":
        return torch.optim.Adam(tensors, lr=1e-3, foreach=False)
    return torch.optim.SGD(
        tensors,
        lr=1e-3,
        momentum=0.9 if name == "SGD+momentum" else 0.0,
        foreach=False,
    )


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
    rng = np.random.default_rng(0)
    side = int(np.sqrt(args.params // 4))
    shapes = [(side, side)] * 4  # four weight matrices
    n = sum(int(np.prod(s)) for s in shapes)
    bandwidth = copy_bandwidth(n, args.repeats)
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        torch = None
    print(
        f"{n:,} float32 parameters ({4 * n / 1e6:.0f} MB); copy bandwidth {bandwidth / 1e9:.1f} GB/s"
    )
    print(
        f"{'optimizer':<13} {'state/param':>11} {'ms/step':>8} {'floor ms':>8} {'x floor':>7} "
        f"{'torch ms':>8} {'x torch':>7}"
    )
    for name, traffic in TRAFFIC.items():
        params = make_parameters(shapes, rng)
        optimizer = ours(name, params)
        seconds = median_seconds(optimizer.step, args.repeats)
        state_bytes = sum(
            v.nbytes
            for s in optimizer.state.values()
            for v in s.values()
            if isinstance(v, np.ndarray)
        )
        floor = traffic * n / bandwidth
        row = (
            f"{name:<13} {state_bytes / (4 * n):>10.2f}x {1e3 * seconds:>8.2f} {1e3 * floor:>8.2f} "
            f"{seconds / floor:>7.2f}"
        )
        if torch is not None:
            reference = theirs(name, params)
            with torch.no_grad():
                torch_seconds = median_seconds(reference.step, args.repeats)
            row += (
                f" {1e3 * torch_seconds:>8.2f} {seconds / torch_seconds:>7.2f}"
            )
        print(row)


if __name__ == "__main__":
    main()
