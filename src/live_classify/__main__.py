"""Allow ``python -m live_classify``."""
from live_classify.cli import main

raise SystemExit(main())
