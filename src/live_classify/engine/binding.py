"""Stage 3: run the session through I/O binding, with buffers allocated and bound once per batch size.

On the CPU the OrtValues wrap our own numpy buffers, so preprocessing writes straight into the
model's input and the scores are read without a copy. On a GPU the input and output live in the
GPU's memory: the input is updated in place from a page-locked host buffer (one DMA copy per
batch) and only the scores come back; nothing is reallocated or re-bound per frame, which also
makes CUDA graphs possible.

Normalization can run on the device too (``normalize_on_device``): then the host buffer holds
the cropped, resized uint8 images, NHWC as OpenCV gives them (150 KB a frame instead of 600 KB of
float32), and a tiny second graph (``normalize.onnx``) turns them into the model's input where
the model runs. Both ways give bit-identical input tensors.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from importlib import resources

import numpy as np
import onnxruntime as ort

from live_classify.engine.model import Preprocessing
from live_classify.engine.pinned import page_lock

NORMALIZE_GRAPH = "normalize.onnx"
FEATURES = "features"  # the pooled output before the head, where the model has one: what taught classes match
_graph_ids = itertools.count(1)  # CUDA graphs are captured per id: one id per bound batch, process-wide


@dataclass
class _Bound:
    """Everything bound for one batch size."""

    host: np.ndarray  # what preprocessing writes: float32 [n,3,H,W], or uint8 [n,H,W,3] (device normalization)
    binding: ort.IOBinding
    device_input: ort.OrtValue | None  # GPU: where ``host`` is copied each run
    scores: ort.OrtValue
    scores_host: np.ndarray | None  # CPU: the numpy array behind ``scores``
    features: ort.OrtValue | None  # the model's ``features``, bound beside the scores where it has them
    normalize: ort.IOBinding | None  # device normalization: uint8 images -> the model's input
    pinned: bool
    run_options: ort.RunOptions | None  # CUDA graphs: one graph per batch size


class BoundSession:
    """One session, one image input, one scores output, bound once for each batch size in use."""

    def __init__(
        self, session: ort.InferenceSession, input_name: str, output_name: str, pre: Preprocessing,
        device: str, device_id: int = 0, normalize_on_device: bool = False, cuda_graph: bool = False,
        pin: bool = True,
    ) -> None:
        self.session = session
        self.input_name = input_name
        self.output_name = output_name
        self.pre = pre
        self.device = device
        self.device_id = device_id
        self.normalize_on_device = normalize_on_device
        self.cuda_graph = cuda_graph
        self.pin = pin
        self._normalizer = _open_normalizer(device, device_id) if normalize_on_device else None
        self._parameters = _normalize_parameters(pre)  # kept alive: CPU OrtValues borrow their memory
        self._bound: dict[int, _Bound] = {}
        batch = session.get_inputs()[0].shape[0]
        self.max_batch: int | None = batch if isinstance(batch, int) and batch > 0 else None
        # One plain run learns the output shape, so dynamic class dimensions work too; it also
        # warms up the CPU provider before the buffers are bound.
        sample = np.zeros((1, 3, pre.height, pre.width), np.float32)
        outputs = [o.name for o in session.get_outputs()]
        self.features_name = FEATURES if FEATURES in outputs and output_name != FEATURES else None
        first = session.run([output_name, *([self.features_name] if self.features_name else [])], {input_name: sample})
        self.classes = int(np.prod(first[0].shape[1:]))
        self.feature_size = int(np.prod(first[1].shape[1:])) if self.features_name else 0

    @property
    def input(self) -> np.ndarray:
        """The batch-1 host buffer that preprocessing writes into."""
        return self.buffers(1).host

    @property
    def pinned(self) -> bool:
        """Whether the host buffers are page-locked (GPU only)."""
        return self.buffers(1).pinned

    def buffers(self, n: int) -> _Bound:
        """The buffers for a batch of ``n``, made and bound the first time that size is used."""
        if n not in self._bound:
            if n < 1 or (self.max_batch is not None and n > self.max_batch):
                raise ValueError(f"batch of {n}: the model takes 1 to {self.max_batch or 'any number of'} images")
            self._bound[n] = self._bind(n)
        return self._bound[n]

    def warm_up(self, runs: int = 3, n: int = 1) -> None:
        """Run a few times first: GPU providers build kernels, engines and graphs on the first runs."""
        for _ in range(runs):
            self.run(n)

    def run(self, n: int = 1) -> np.ndarray:
        """Infer on the current contents of ``buffers(n).host``; returns ``[n, classes]`` scores on the host."""
        bound = self.buffers(n)
        if bound.device_input is not None:
            bound.device_input.update_inplace(bound.host)
        if bound.normalize is not None:
            self._normalizer.run_with_iobinding(bound.normalize)  # type: ignore[union-attr]
        self.session.run_with_iobinding(bound.binding, bound.run_options)
        return bound.scores_host if bound.scores_host is not None else bound.scores.numpy()

    def features(self, n: int = 1) -> np.ndarray | None:
        """``[n, D]`` features of the last :meth:`run` of ``n`` (copied to the host), or None when the
        model has no ``features`` output. Bound always: the model computes them anyway (its head
        reads them), and fetching them costs a copy of 5 KB a frame, made only when asked."""
        bound = self.buffers(n)
        return None if bound.features is None else bound.features.numpy()

    def _bind(self, n: int) -> _Bound:
        """Allocate the buffers for a batch of ``n`` where they belong and bind them."""
        h, w = self.pre.height, self.pre.width
        host_shape, host_type = ((n, h, w, 3), np.uint8) if self.normalize_on_device else ((n, 3, h, w), np.float32)
        host = np.zeros(host_shape, host_type)
        on_cpu = self.device == "cpu"
        pinned = not on_cpu and self.pin and page_lock(host)
        device_input = None if on_cpu else self._device_value(host_shape, host_type)
        feed = device_input if device_input is not None else ort.OrtValue.ortvalue_from_numpy(host)
        model_input = self._device_value((n, 3, h, w), np.float32) if self.normalize_on_device else feed
        scores_host = np.zeros((n, self.classes), np.float32) if on_cpu else None
        scores = (ort.OrtValue.ortvalue_from_numpy(scores_host) if on_cpu
                  else self._device_value((n, self.classes), np.float32))
        binding = self.session.io_binding()
        binding.bind_ortvalue_input(self.input_name, model_input)
        binding.bind_ortvalue_output(self.output_name, scores)
        features = None
        if self.features_name is not None:
            features = (ort.OrtValue.ortvalue_from_numpy(np.zeros((n, self.feature_size), np.float32)) if on_cpu
                        else self._device_value((n, self.feature_size), np.float32))
            binding.bind_ortvalue_output(self.features_name, features)
        normalize = self._bind_normalizer(feed, model_input) if self.normalize_on_device else None
        return _Bound(host, binding, device_input, scores, scores_host, features, normalize, pinned,
                      self._graph_options())

    def _graph_options(self) -> ort.RunOptions | None:
        """With CUDA graphs, each bound batch is captured as a graph of its own: a graph replays the
        addresses it was captured with, so two batch sizes (or two engines) must never share one."""
        if not self.cuda_graph:
            return None
        options = ort.RunOptions()
        options.add_run_config_entry("gpu_graph_id", str(next(_graph_ids)))
        return options

    def _device_value(self, shape: tuple[int, ...], dtype: type) -> ort.OrtValue:
        """A tensor in the session's device memory (plain host memory for the CPU provider)."""
        return ort.OrtValue.ortvalue_from_shape_and_type(shape, dtype, self.device, self.device_id)

    def _bind_normalizer(self, images: ort.OrtValue, model_input: ort.OrtValue) -> ort.IOBinding:
        """Bind the normalization graph: uint8 images in, the model's bound input out, its parameters once."""
        binding = self._normalizer.io_binding()  # type: ignore[union-attr]
        binding.bind_ortvalue_input("image", images)
        for name, value in self._parameters.items():
            binding.bind_ortvalue_input(name, ort.OrtValue.ortvalue_from_numpy(value, self.device, self.device_id))
        binding.bind_ortvalue_output("tensor", model_input)
        return binding


def _normalize_parameters(pre: Preprocessing) -> dict[str, np.ndarray]:
    """The normalization graph's inputs for this model: channel order, mean and 1/std, as on the host."""
    return {
        "channels": np.array([2, 1, 0] if pre.color_order == "RGB" else [0, 1, 2], np.int64),
        "mean": np.asarray(pre.mean, np.float32).reshape(1, 3, 1, 1),
        "inv_std": (1.0 / np.asarray(pre.std, np.float32)).reshape(1, 3, 1, 1),
    }


def _open_normalizer(device: str, device_id: int) -> ort.InferenceSession:
    """The normalization graph on the model's device (CUDA for any GPU provider: five small kernels)."""
    graph = (resources.files("live_classify.engine") / NORMALIZE_GRAPH).read_bytes()
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = 1  # elementwise work on 150 KB: a thread pool would only contend with the model's
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if device == "cpu":
        return ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
    return ort.InferenceSession(graph, options, providers=[("CUDAExecutionProvider", {"device_id": device_id})])
