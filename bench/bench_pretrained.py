"""Shipped-model benchmark: the figures of the model card.

Scores the shipped model (or ``--model FILE``) on the core split's 1,563 test faces,
which its training never saw, and on the whole aligned sample
(``../shared/data/utkface_aligned_sample``: another crop, other people, never seen
either). Prints for each: age MAE and CS@5, MAE per age band, per gender and per
ethnicity; gender accuracy overall, on faces aged 3 and over, and per age band.

Usage::

    python bench/bench_pretrained.py [--model FILE] [--data DIR] [--aligned DIR]
        [--reference REGRESSOR.skage] [--int8]

``--reference`` also times ``predict`` of that model (a default ``AgeRegressor``, as
``bench_core.py --save`` writes it) on the core test faces, in the same run: the
shipped model's prediction cost should be the default network's. ``--int8`` also
scores the model's int8 ONNX export (``export_onnx(..., quantize=True)``, calibrated on
256 training faces of the core split), loaded with ``load_onnx``, on both test sets.
"""

import argparse
import os
import sys
import tempfile
import time
import warnings

import numpy as np

from sklearn_age import export_onnx, load_model, load_onnx, load_pretrained, load_utkface
from sklearn_age.datasets import ETHNICITY_NAMES, GENDER_NAMES, default_data_dir
from sklearn_age.metrics import cumulative_score, error_by_group

sys.path.insert(0, os.path.dirname(__file__))
from bench_core import aligned_dir, core_split  # noqa: E402

#: Age bands (inclusive) of the model card.
AGE_BANDS = ((0, 2), (3, 12), (13, 19), (20, 29), (30, 44), (45, 59), (60, 120))


def images_per_second(model, paths):
    """Prediction speed from JPEG files, after a first call on 512 of them that builds
    the engine and warms it up (after 64, the first full pass still ran 0.7x as fast)."""
    model.predict(paths[:512])
    start = time.perf_counter()
    predicted = model.predict(paths)
    return predicted, len(paths) / (time.perf_counter() - start)


def print_report(title, model, faces):
    """The card's figures for ``faces``, from one timed pass of ``predict``."""
    predicted, speed = images_per_second(model, faces["paths"])
    ages, genders = predicted[:, 0].astype(float), predicted[:, 1]
    errors = np.abs(ages - faces["age"])
    correct = genders == GENDER_NAMES[faces["gender"]]
    print(f"\n## {title}: {len(ages)} faces (predict: {speed:.0f} images/s)")
    print(f"age MAE {errors.mean():.3f}, CS@5 {cumulative_score(faces['age'], ages, 5):.3f}")
    print(f"gender accuracy {correct.mean():.3f} overall, "
          f"{correct[faces['age'] >= 3].mean():.3f} on faces aged 3 and over")
    print("| ages | faces | age MAE | gender accuracy |")
    print("|---|---|---|---|")
    for low, high in AGE_BANDS:
        band = (faces["age"] >= low) & (faces["age"] <= high)
        if band.any():
            print(f"| {low}-{high} | {band.sum()} | {errors[band].mean():.2f} | "
                  f"{correct[band].mean():.3f} |")
    for name, codes, names in (("gender", "gender", GENDER_NAMES),
                               ("ethnicity", "race", ETHNICITY_NAMES)):
        groups = error_by_group(faces["age"], ages, names[faces[codes]])
        print(f"age MAE by {name}: " + ", ".join(
            f"{group} {mae:.2f} (n={count})"
            for group, mae, count in zip(groups.groups, groups.mae, groups.count)))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", help="a model file (default: the shipped model)")
    parser.add_argument("--data", default=default_data_dir())
    parser.add_argument("--aligned", help="default: utkface_aligned_sample beside --data")
    parser.add_argument("--reference", help="a default AgeRegressor model file to time")
    parser.add_argument("--int8", action="store_true", help="also score the int8 export")
    args = parser.parse_args()

    model = load_model(args.model) if args.model else load_pretrained()
    print(f"model: {args.model or 'load_pretrained()'}: {model!r}")
    train, test = core_split(args.data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        aligned = load_utkface(args.aligned or aligned_dir(args.data))
    print_report("core split, test faces", model, test)
    print_report("aligned sample (another crop, other people)", model, aligned)
    if args.int8:
        with tempfile.TemporaryDirectory() as folder:
            graph = os.path.join(folder, "int8.onnx")
            export_onnx(model, graph, quantize=True, calibration=train.paths[:256])
            quantized = load_onnx(graph)
            print_report("int8 export, core split, test faces", quantized, test)
            print_report("int8 export, aligned sample", quantized, aligned)
    if args.reference:
        _, speed = images_per_second(load_model(args.reference), test.paths)
        print(f"\nreference {args.reference}: predict {speed:.0f} images/s on the core "
              "test faces")
    print(f"\ncommand: {' '.join([os.path.basename(sys.executable)] + sys.argv)}")


if __name__ == "__main__":
    main()
