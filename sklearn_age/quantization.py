"""int8 ONNX graphs: onnxruntime's static quantization, calibrated on given faces.

Weights are quantized per channel to int8 and activations to uint8, in the QDQ format,
with activation ranges measured on calibration faces; the linear head and the output
layers stay float32 and float64. On the core benchmark this changes the MAE by +0.05
years (the default label-distribution head; +0.02 with the L1 head) and runs the graph
about 1.2x faster (see ``bench/bench_quantize.py``, ``bench/bench_speed.py`` and the
performance page).
"""

import os
import tempfile

#: Calibration faces decoded and run together.
CALIBRATION_BATCH = 32

#: End of the name of the linear head's weight in exported graphs (``FaceModel.head``
#: is dropout then the linear layer).
HEAD_WEIGHT = "head.1.weight"


class _Calibration:
    """onnxruntime's calibration reader over decoded batches."""

    def __init__(self, input_name, batches):
        self.input_name, self.batches = input_name, iter(batches)

    def get_next(self):
        batch = next(self.batches, None)
        return None if batch is None else {self.input_name: batch}


def _head_and_output_nodes(model):
    """Names of the nodes that stay float32: the linear head (the node that reads its
    weight), every node after it (the output layers, which run in float64 and whose
    inputs are not calibrated) and any softmax."""
    nodes = list(model.graph.node)
    head = next((index for index, node in enumerate(nodes)
                 if any(name.endswith(HEAD_WEIGHT) for name in node.input)), len(nodes))
    return [node.name for index, node in enumerate(nodes)
            if index >= head or node.op_type == "Softmax"]


def quantize_int8(source, destination, input_name, calibration_batches, metadata):
    """Write an int8 copy of the float32 ONNX model ``source`` to ``destination``.

    Parameters
    ----------
    source, destination : str
        ONNX files.
    input_name : str
        The graph's input.
    calibration_batches : iterable of ndarray
        Inputs on which the activation ranges are measured.
    metadata : dict of str to str
        Written into the int8 model's metadata.
    """
    import onnx
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    with tempfile.TemporaryDirectory() as folder:
        prepared = os.path.join(folder, "prepared.onnx")
        quant_pre_process(source, prepared, skip_symbolic_shape=True)
        quantize_static(prepared, destination, _Calibration(input_name, calibration_batches),
                        quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        nodes_to_exclude=_head_and_output_nodes(onnx.load(prepared)))
    model = onnx.load(destination)
    kept = {entry.key for entry in model.metadata_props}
    for key, value in metadata.items():
        if key not in kept:
            model.metadata_props.add(key=key, value=value)
    onnx.save(model, destination)
