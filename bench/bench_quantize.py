"""Quantization experiment (issue 22, item 3): int8 ONNX graphs of a core model.

Exports the model (``export_onnx``), quantizes it with onnxruntime (dynamic int8, and
static int8 in QDQ format, per channel, calibrated on 256 training faces of the core
split), and times each graph alone on the decoded test faces (batches of 64), with its
MAE and file size.

Usage::

    python bench/bench_quantize.py MODEL.skage
"""

import os
import sys
import tempfile
import time

import numpy as np
import onnxruntime as ort
from onnxruntime.quantization import (
    CalibrationDataReader,
    QuantFormat,
    QuantType,
    quantize_dynamic,
    quantize_static,
)
from onnxruntime.quantization.shape_inference import quant_pre_process

from sklearn_age import ImageLoader, export_onnx, load_model
from sklearn_age.datasets import default_data_dir

sys.path.insert(0, os.path.dirname(__file__))
from bench_core import core_split  # noqa: E402

BATCH = 64


class Calibration(CalibrationDataReader):
    """Batches of 32 calibration images for static quantization."""

    def __init__(self, images):
        self.batches = iter([{"images": images[i:i + 32]} for i in range(0, len(images), 32)])

    def get_next(self):
        return next(self.batches, None)


def main():
    model = load_model(sys.argv[1])
    train, test = core_split(default_data_dir())
    images = ImageLoader(size=model.img_size).fit_transform(test.paths)
    calibration = ImageLoader(size=model.img_size).fit_transform(train.paths[:256])
    folder = tempfile.mkdtemp()
    graphs = {name: os.path.join(folder, f"{name}.onnx")
              for name in ("float32", "prepared", "dynamic", "static")}
    export_onnx(model, graphs["float32"])
    quant_pre_process(graphs["float32"], graphs["prepared"], skip_symbolic_shape=True)
    quantize_dynamic(graphs["prepared"], graphs["dynamic"], weight_type=QuantType.QInt8)
    quantize_static(graphs["prepared"], graphs["static"], Calibration(calibration),
                    quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    print("\n--- results ---")
    print(f"command: python {' '.join(sys.argv)}")
    for name in ("float32", "dynamic", "static"):
        session = ort.InferenceSession(graphs[name], providers=["CPUExecutionProvider"])
        session.run(None, {"images": images[:BATCH]})  # warm-up
        start = time.perf_counter()
        ages = np.concatenate([session.run(["age"], {"images": images[i:i + BATCH]})[0]
                               for i in range(0, len(images), BATCH)])
        seconds = time.perf_counter() - start
        print(f"{name:>8}: graph alone {len(images) / seconds:7.1f} images/s, "
              f"MAE {np.abs(ages - test.age).mean():.3f}, "
              f"{os.path.getsize(graphs[name]) / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
