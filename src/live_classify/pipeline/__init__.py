"""Frames in, predictions out: capture threads, the inference scheduler, queues, counters and
status. It knows no output (``app/`` wires the outputs to it)."""
