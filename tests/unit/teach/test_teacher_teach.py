"""Teaching through the run's teacher, from a real recorded segment and its index: as many moments as
the message allows are taught, one more is refused saying so."""
from __future__ import annotations

from pathlib import Path

import av
import cv2
import pytest
from conftest import COFFEE

from live_classify.engine.model import default_model_path
from live_classify.engine.taught import Taught
from live_classify.sinks.events.index_file import NAME, connect
from live_classify.teach import Refused
from live_classify.teach.teacher import MAX_EXAMPLES, Teacher

START, FPS, SECONDS = 1_800_000_000.0, 10, 6


def recorded(root: Path) -> None:
    """``door``'s one segment (the mug, a moving bar so each frame differs), in the index as the recorder puts it."""
    image = cv2.resize(cv2.imread(str(COFFEE)), (320, 240))
    (root / "door").mkdir(parents=True)
    with av.open(str(root / "door" / "seg.mp4"), "w") as video:
        stream = video.add_stream("mpeg4", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for n in range(FPS * SECONDS):
            frame = image.copy()
            cv2.rectangle(frame, (n * 5 % 300, 0), (n * 5 % 300 + 20, 10), (0, 0, 255), -1)
            video.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="bgr24")))
        video.mux(stream.encode())
    db = connect(root / NAME)
    with db:
        db.execute('INSERT INTO segments (camera, path, start, "end", bytes) VALUES (?, ?, ?, ?, ?)',
                   ("door", "door/seg.mp4", START, START + SECONDS, 1))
    db.close()


def test_as_many_moments_as_the_limit_are_taught_and_one_more_is_refused(tmp_path: Path) -> None:
    recorded(tmp_path)
    teacher = Teacher(tmp_path, default_model_path(), Taught(), ["espresso"], log=lambda _: None)
    moments = [("door", START + 0.1 * n) for n in range(MAX_EXAMPLES + 1)]
    with pytest.raises(Refused) as refused:
        teacher.teach("our mug", moments)
    assert (refused.value.status, str(refused.value)) == (400, f"give 1 to {MAX_EXAMPLES} examples, not 51")
    taught = teacher.teach("our mug", moments[:MAX_EXAMPLES])
    assert (taught["added"], taught["examples"]) == (MAX_EXAMPLES, MAX_EXAMPLES) == (50, 50)
    [listed] = teacher.classes()
    assert len(listed["examples"]) == 50 and listed["examples"][-1]["time"] == pytest.approx(START + 4.9)  # type: ignore[index, arg-type]
