"""JSON lines as units: the exact record, the summary's words, stdout or a file, a reader gone."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from updates import update

from live_classify.errors import LiveClassifyError
from live_classify.sinks.jsonl import JsonLines, line_record


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


def camera_prediction(index: int, camera: str):  # noqa: ANN201
    base = update(index, index / 10).shown.new_predictions[0]
    frame = type(base.frame)(base.frame.index, base.frame.t_capture, base.frame.wall_time, base.frame.image, camera)
    return type(base)(frame, base.result, base.t_done)


def test_a_camera_is_named_and_sources_are_looked_up_by_camera(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    sink = JsonLines(str(path), "default", drop=False, min_confidence=0.95, sources={"door": "rtsp://door"})
    sink.write_predictions([camera_prediction(0, "door"), camera_prediction(1, "yard")])
    sink.close()
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [(line["camera"], line["source"], line["unknown"]) for line in lines] == [
        ("door", "rtsp://door", True), ("yard", "default", True)]
    assert list(lines[0]) == ["frame", "time", "source", "camera", "top", "unknown", "times_ms", "latency_ms"]


def test_a_reload_s_sources_and_thresholds_name_the_next_lines_in_the_same_file(tmp_path: Path) -> None:
    """A reload that points ``door`` at another stream, adds ``yard`` and moves the thresholds: the
    next lines say the new source and threshold of each camera, in the file left open."""
    path = tmp_path / "out.jsonl"
    sink = JsonLines(str(path), "default", drop=False, min_confidence=0.95, sources={"door": "rtsp://door"},
                     thresholds={"door": 0.95})
    sink.write_predictions([camera_prediction(0, "door")])
    sink.reconfigure({"door": "rtsp://door2", "yard": "rtsp://yard"}, {"door": 0.1, "yard": 0.95}, 0.1)
    sink.write_predictions([camera_prediction(1, "door"), camera_prediction(2, "yard")])
    sink.close()
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [(line["camera"], line["source"], line["unknown"]) for line in lines] == [
        ("door", "rtsp://door", True), ("door", "rtsp://door2", False), ("yard", "rtsp://yard", True)]


def test_a_file_is_appended_to_and_its_sink_attributes(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    path.write_text("earlier\n", encoding="utf-8")
    sink = JsonLines(str(path), "cam", drop=False)
    assert (sink.name, sink.essential, sink.stop_requested, sink.error, sink.skipped) == ("JSON lines", True, False,
                                                                                        None, 0)
    assert sink.summary() is None
    sink.write(update(0, 0.0))
    sink.idle(lambda camera: None)
    sink.close()
    assert path.read_text(encoding="utf-8").splitlines()[0] == "earlier" and sink.lines == 1
    assert sink._out.closed and sink.summary() == "wrote 1 JSON lines"
    sink.error = "set from outside"
    assert sink.error == "set from outside"


def test_non_ascii_is_written_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    sink = JsonLines(str(path), "caméra", drop=False)
    sink.write(update(0, 0.0))
    sink.close()
    assert '"source": "caméra"' in path.read_text(encoding="utf-8")


def test_stdout_is_not_owned_and_not_closed(capsys: pytest.CaptureFixture[str]) -> None:
    sink = JsonLines("-", "cam", drop=False)
    sink.write(update(0, 0.0))
    sink.close()
    out = capsys.readouterr().out
    assert out.endswith("\n") and json.loads(out)["frame"] == 0 and not sink._owned and not sink._sync


def test_a_slow_reader_skips_the_oldest_and_says_how_many(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    sink = JsonLines(str(path), "cam", backlog=2)
    sink._writer._gate = __import__("threading").Event()  # the writer takes nothing for now
    sink.write_predictions([camera_prediction(i, "") for i in range(6)])
    assert sink.skipped >= 3
    sink._writer._gate.set()
    sink.close()
    assert sink.summary() == f"wrote {sink.lines} JSON lines ({sink.skipped} skipped: the reader was too slow)"
    assert sink.lines + sink.skipped == 6


def test_a_file_is_fsynced_once_a_second(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    from live_classify.sinks import jsonl

    now, synced = [50.0], []
    monkeypatch.setattr(jsonl, "time", SimpleNamespace(monotonic=lambda: now[0]))
    monkeypatch.setattr(jsonl.os, "fsync", lambda fd: synced.append(now[0]))
    sink = JsonLines(str(tmp_path / "out.jsonl"), "cam", drop=False)
    for t in (50.0, 50.5, 50.99, 51.0, 51.2, 52.5):
        now[0] = t
        sink._write_line("{}\n")
    sink.close()
    assert synced == [50.0, 51.0, 52.5] and sink.lines == 6
    assert (tmp_path / "out.jsonl").read_text() == "{}\n" * 6


def test_a_reader_gone_stops_the_run_quietly(monkeypatch: pytest.MonkeyPatch) -> None:
    from live_classify.sinks import jsonl

    class Gone:
        def write(self, line: str) -> None:
            raise BrokenPipeError

        def flush(self) -> None:
            pass

    silenced, said = [], []
    monkeypatch.setattr(jsonl, "silence_stdout", lambda: silenced.append(1))
    monkeypatch.setattr(jsonl.log, "info", said.append)
    sink = JsonLines("-", "cam", drop=False)
    sink._out = Gone()  # type: ignore[assignment]
    sink._write_line("{}\n")
    assert sink.reader_gone and sink.stop_requested and silenced == [1]
    assert said == ["the reader of the JSON lines went away: stopping"]
    sink._write_line("{}\n")  # nothing more is tried
    sink.write(update(0, 0.0))
    sink.close()
    assert sink.lines == 0 and silenced == [1]


def test_a_full_disk_is_an_error_in_words(tmp_path: Path) -> None:
    class Full:
        def write(self, line: str) -> None:
            raise OSError(28, "No space left on device")

    sink = JsonLines(str(tmp_path / "out.jsonl"), "cam", drop=False)
    real, sink._out = sink._out, Full()  # type: ignore[assignment]
    with pytest.raises(OSError, match="^cannot write JSON lines: No space left on device$"):
        sink._write_line("{}\n")
    sink._out = real
    sink.close()


def test_a_missing_folder_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(LiveClassifyError, match="does not exist$"):
        JsonLines(str(tmp_path / "no" / "out.jsonl"), "cam")


def test_times_are_rounded_to_the_millisecond_and_names_written_as_they_are(tmp_path: Path) -> None:
    base = update(3, 0.0).shown.new_predictions[0]
    frame = type(base.frame)(3, 100.0, 1700000001.1234567, base.frame.image, "")
    prediction = type(base)(frame, base.result, 100.0123456789)  # 12.3456789 ms after its capture
    record = line_record(prediction, "caméra", None)
    assert (record["time"], record["latency_ms"]) == (1700000001.123, 12.346)
    path = tmp_path / "out.jsonl"
    sink = JsonLines(str(path), "caméra", drop=False)
    sink.write_predictions([prediction])
    sink.close()
    assert '"source": "caméra"' in path.read_text(encoding="utf-8")  # not "\u00e9"
