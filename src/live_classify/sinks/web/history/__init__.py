"""``/history``: what the recording directory holds — events, recordings, the per-second summary —
searched through ``DIR/index.db`` (opened read-only) and played or cut from the files under DIR."""
