"""Where the run's results go: every output is a sink (``base.py``) fed by the main loop.

``display/`` shows (the window, the grid, the overlay), ``record/`` records (MP4, Motion-JPEG,
segments), ``web/`` serves the page and the API, ``jsonl.py`` writes the predictions, ``mqtt.py``
publishes them, ``notify.py`` talks to systemd, ``collect.py`` saves frames for training. A new
output is a new module here and one line in ``app/outputs.py``'s ``outputs()``.
"""
