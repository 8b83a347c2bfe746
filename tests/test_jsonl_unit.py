"""JSON lines as units: the exact record, the summary's words, stdout or a file, a reader gone."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from live_classify.errors import LiveClassifyError
from live_classify.sinks.jsonl import JsonLines, line_record
from test_sinks import update


def test_a_line_has_exactly_these_fields(tmp_path: Path) -> None:
    prediction = update(7, 1.25).shown.new_predictions[0]
    record = line_record(prediction, "rtsp://cam", None)
    assert record == {"frame": 7, "time": 1700000001.25, "source": "rtsp://cam",
                      "top": record["top"], "times_ms": record["times_ms"], "latency_ms": 10.0}
    assert list(record) == ["frame", "time", "source", "top", "times_ms", "latency_ms"]
    assert json.loads(json.dumps(record))["top"][0]["label"] == "tiger cat"


def test_a_file_that_cannot_be_opened_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(LiveClassifyError, match=f"^JSON lines file {tmp_path} is a directory$"):
        JsonLines(str(tmp_path), "cam")
