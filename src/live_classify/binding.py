"""Stage 3: run the session through I/O binding, with its buffers allocated and bound once.

On the CPU the OrtValues wrap our own numpy buffers, so preprocessing writes straight into the
model's input and the scores are read without a copy. On a GPU the input and output live in the
GPU's memory: the input is updated in place each frame (one host→device copy) and only the scores
come back; nothing is reallocated or re-bound per frame, which also makes CUDA graphs possible.
"""
from __future__ import annotations

import numpy as np
import onnxruntime as ort


class BoundSession:
    """One session, one input tensor, one scores output, bound for the session's whole life."""

    def __init__(
        self, session: ort.InferenceSession, input_name: str, output_name: str,
        input_shape: tuple[int, ...], device: str, device_id: int = 0,
    ) -> None:
        self.session = session
        self.device = device
        self.input = np.zeros(input_shape, np.float32)  # the host buffer preprocessing writes into
        # One plain run learns the output shape, so dynamic class dimensions work too; it also
        # warms up the CPU provider before the buffers are bound.
        scores_shape = session.run([output_name], {input_name: self.input})[0].shape
        self._binding = session.io_binding()
        if device == "cpu":
            self.scores: np.ndarray | None = np.zeros(scores_shape, np.float32)
            self._input_value = ort.OrtValue.ortvalue_from_numpy(self.input)
            self._scores_value = ort.OrtValue.ortvalue_from_numpy(self.scores)
        else:
            self.scores = None
            self._input_value = ort.OrtValue.ortvalue_from_shape_and_type(input_shape, np.float32, device, device_id)
            self._scores_value = ort.OrtValue.ortvalue_from_shape_and_type(scores_shape, np.float32, device, device_id)
        self._binding.bind_ortvalue_input(input_name, self._input_value)
        self._binding.bind_ortvalue_output(output_name, self._scores_value)

    @property
    def scores_shape(self) -> tuple[int, ...]:
        return tuple(self._scores_value.shape())

    def warm_up(self, runs: int = 3) -> None:
        """Run a few times first: GPU providers build kernels, engines and graphs on the first runs."""
        for _ in range(runs):
            self.run()

    def run(self) -> np.ndarray:
        """Infer on the current contents of ``self.input``; returns the scores on the host."""
        if self.scores is not None:  # CPU: the OrtValues are our numpy buffers
            self.session.run_with_iobinding(self._binding)
            return self.scores
        self._input_value.update_inplace(self.input)
        self.session.run_with_iobinding(self._binding)
        return self._scores_value.numpy()
