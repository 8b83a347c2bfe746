"""Frames on their way: capture threads, the inference scheduler, counters, the run itself."""
