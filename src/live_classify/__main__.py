"""Allow ``python -m live_classify``."""
from live_classify.cli.main import main

raise SystemExit(main())
