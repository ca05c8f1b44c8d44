"""Learning rate for fine-tuning, chosen without the fine-tuning benchmark's test half.

Takes the fine-tuning half of the aligned sample (the same 1,500 faces that
``bench_finetune.py`` fine-tunes on; its test half is never loaded), splits it 80/20
(``random_state=0``), fine-tunes an ``AgeRegressor`` on the 1,200 faces from each start
(ImageNet, the shipped model) with each learning rate and seed, and prints the MAE on the
300 held-out faces, per run and as the mean over seeds.

Usage::

    python bench/bench_finetune_lr.py [--aligned DIR] [--seeds 0 1] [--epochs 16]
        [--imagenet-lrs 1e-3 2e-3 4e-3] [--shipped-lrs 2.5e-4 7e-4 2e-3]
"""

import argparse
import os
import sys

import numpy as np
from sklearn.model_selection import train_test_split

from sklearn_age import AgeRegressor
from sklearn_age.datasets import default_data_dir

sys.path.insert(0, os.path.dirname(__file__))
from bench_core import aligned_dir, preload_images  # noqa: E402
from bench_finetune import STARTS, finetune_split, fit_and_score  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--aligned", default=aligned_dir(default_data_dir()))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--epochs", type=int, default=AgeRegressor().max_epochs)
    parser.add_argument("--imagenet-lrs", type=float, nargs="*", default=[1e-3, 2e-3, 4e-3])
    parser.add_argument("--shipped-lrs", type=float, nargs="*", default=[2.5e-4, 7e-4, 2e-3])
    args = parser.parse_args()

    faces, train, _ = finetune_split(args.aligned)
    inner_train, inner_val = train_test_split(train, test_size=0.2, random_state=0)
    size = AgeRegressor().img_size
    X_train, X_val = (preload_images(faces.paths[part], size)
                      for part in (inner_train, inner_val))
    y_train, y_val = faces.age[inner_train], faces.age[inner_val]
    print(f"fine-tuning half: train on {len(inner_train)}, validate on {len(inner_val)}",
          flush=True)

    print("| start | lr | seed | validation MAE | fit seconds |")
    print("|---|---|---|---|---|")
    means = {}
    grid = {"ImageNet": args.imagenet_lrs, "shipped": args.shipped_lrs}
    for name, lrs in grid.items():
        for lr in lrs:
            maes = []
            for seed in args.seeds:
                mae, seconds = fit_and_score(STARTS[name], lr, args.epochs, seed,
                                             (X_train, y_train), (X_val, y_val))
                maes.append(mae)
                print(f"| {name} | {lr:g} | {seed} | {maes[-1]:.3f} | {seconds:.0f} |",
                      flush=True)
            means[name, lr] = np.mean(maes)

    print("\nmean over seeds:")
    for name, lrs in grid.items():
        if not lrs:
            continue
        best = min(lrs, key=lambda lr: means[name, lr])
        cells = ", ".join(f"lr={lr:g}: {means[name, lr]:.3f}" for lr in lrs)
        print(f"{name}: {cells}; best lr={best:g}")
    print(f"command: {' '.join([os.path.basename(sys.executable)] + sys.argv)}")


if __name__ == "__main__":
    main()
