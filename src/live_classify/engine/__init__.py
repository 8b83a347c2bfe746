"""Stages 2-4 of a frame: the model's description, preprocessing, a backend that runs the tensor, postprocessing.

A backend knows tensors, not frames (``backend.py``); the onnxruntime one runs locally on
TensorRT, CUDA or the CPU. ``classifier.py`` puts the stages together for BGR frames.
"""
