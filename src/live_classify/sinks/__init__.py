"""Where the run's results go: every output is a sink (``base.py``) fed by the main loop.

``window.py`` (with ``overlay.py``) shows, ``record.py`` records (``mp4.py``, ``mjpeg.py``),
``jsonl.py`` writes the predictions, ``collect.py`` saves frames for training. A new output is a
new module here and one line in ``stream/outputs.py``'s ``outputs()``, which assembles the sinks.
"""
