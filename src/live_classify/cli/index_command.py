"""``live-classify index DIR``: rebuild ``DIR/index.db`` from the recordings under DIR. A word, not
a flag, so it is told apart before the run's flags are parsed (``cli/main.py``)."""
from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path

from live_classify import log
from live_classify.cli.argtypes import OneLineParser
from live_classify.cli.flags import PROG
from live_classify.errors import exit_code


def index_main(argv: Sequence[str]) -> int:
    parser = OneLineParser(prog=f"{PROG} index",
                           description="Rebuild DIR/index.db's segments, event clips and camera health problems "
                                       "from the recordings under DIR (--record DIR/ --segment, --record-mode "
                                       "events|both) and the health logs beside them: a lost or damaged index is "
                                       "not lost history.")
    parser.add_argument("dir", type=Path, metavar="DIR", help="the directory of --record DIR/")
    parser.add_argument("--quiet", action="store_true", help="on stderr only warnings and errors")
    args = parser.parse_args(argv)
    log.configure(quiet=args.quiet, verbose=False)
    return exit_code(PROG, partial(_rebuild, args.dir), timed=True)


def _rebuild(root: Path) -> int:
    from live_classify.sinks.events.rebuild import rebuild
    from live_classify.sinks.summary_text import plural

    found = rebuild(root)
    problems = f" (and {plural(found.problems, 'camera problem')})" if found.problems else ""
    log.info(f"indexed {plural(found.segments, 'segment')} of {plural(found.cameras, 'camera')} and "
             f"{plural(found.clips, 'event clip')}{problems} in {root / 'index.db'}")
    return 0
