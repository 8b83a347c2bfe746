"""``python -m live_classify.train``: the same command as ``live-classify-train``."""
from live_classify.train.cli import main

raise SystemExit(main())
