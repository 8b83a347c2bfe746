"""The encoder's settings as units: the size recorded, each encoder's options, the stream
configured, the encoder chosen (or refused in one line), and the packets' times: each lasts until the
next frame, and a burst is spread a frame of the stated rate apart."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace

import av
import numpy as np
import pytest

from live_classify.config import EncoderSettings
from live_classify.errors import LiveClassifyError
from live_classify.sinks.record import mp4
from live_classify.sinks.record.mp4 import choose_encoder, even


@pytest.mark.parametrize("size, recorded", [((640, 480), (640, 480)), ((641, 481), (640, 480)),
                                            ((3, 2), (2, 2)), ((1, 1), (0, 0))])
def test_odd_sides_lose_a_pixel(size: tuple[int, int], recorded: tuple[int, int]) -> None:
    assert even(size) == recorded


def test_the_defaults_suit_a_camera_around_the_clock() -> None:
    assert EncoderSettings() == EncoderSettings("auto", 26, None, 1.0, "veryfast")


def test_each_encoders_options() -> None:
    assert mp4._codec_options("libx264", EncoderSettings(crf=20, preset="fast")) == {
        "preset": "fast", "tune": "zerolatency", "forced-idr": "1", "crf": "20"}
    assert mp4._codec_options("libx264", EncoderSettings(bitrate=1_000_000)) == {
        "preset": "veryfast", "tune": "zerolatency", "forced-idr": "1"}
    assert mp4._codec_options("h264_nvenc", EncoderSettings()) == {"forced-idr": "1"}
    assert mp4._codec_options("h264_v4l2m2m", EncoderSettings()) == {}


@pytest.mark.parametrize("name, settings, bit_rate", [("libx264", EncoderSettings(), None),
                                                      ("libx264", EncoderSettings(bitrate=500_000), 500_000),
                                                      ("h264_nvenc", EncoderSettings(), 2_000_000),
                                                      ("h264_nvenc", EncoderSettings(bitrate=3_000_000), 3_000_000)])
def test_the_stream_is_configured_alike_for_the_trial_and_the_recording(name: str, settings: EncoderSettings,
                                                                        bit_rate: int | None) -> None:
    context = SimpleNamespace(bit_rate=None)
    mp4._configure(context, name, (320, 240), settings)  # type: ignore[arg-type]
    assert (context.width, context.height, context.pix_fmt, context.time_base, context.gop_size,
            context.max_b_frames, context.bit_rate) == (320, 240, "yuv420p", Fraction(1, 1000), 600, 0, bit_rate)
    assert context.options == mp4._codec_options(name, settings)


def test_auto_takes_the_first_encoder_that_opens(monkeypatch: pytest.MonkeyPatch) -> None:
    tried: list[str] = []
    opens = {"libx264"}
    monkeypatch.setattr(mp4, "_try_open", lambda name, size, settings: tried.append(name) or (
        object() if name in opens else None))
    assert choose_encoder((64, 48), EncoderSettings()) == "libx264"
    assert tried == [*mp4.HARDWARE, "libx264"]
    opens.add(mp4.HARDWARE[0])
    tried.clear()
    assert choose_encoder((64, 48), EncoderSettings()) == mp4.HARDWARE[0] and tried == [mp4.HARDWARE[0]]
    opens.clear()
    with pytest.raises(LiveClassifyError, match="^--encoder auto: libx264 cannot open on this machine$"):
        choose_encoder((64, 48), EncoderSettings())
    with pytest.raises(LiveClassifyError, match=r"^--encoder h264_nvenc: h264_nvenc cannot open on this machine$"):
        choose_encoder((64, 48), EncoderSettings(encoder="h264_nvenc"))
    with pytest.raises(LiveClassifyError) as error:
        choose_encoder((64, 48), EncoderSettings(encoder="x265"))
    assert str(error.value) == f"unknown encoder 'x265': choose one of {', '.join(mp4.ENCODERS)}"


def test_libx264_opens_here_and_an_encoder_without_its_device_does_not() -> None:
    opened = mp4._try_open("libx264", (64, 48), EncoderSettings())
    assert opened is not None and (opened.name, opened.width, opened.height) == ("libx264", 64, 48)
    assert mp4._try_open("h264_v4l2m2m", (64, 48), EncoderSettings()) is None


def test_a_recording_lasts_as_long_as_its_frames_even_when_the_stream_states_another_rate(tmp_path: Path) -> None:
    """A live source's first file states 30 fps (its rate not measured yet); the frames are 10 fps
    apart: each packet of the file, the last one too, lasts 0.1 s, so the file is as long as the
    time it covers (a segment's length is what the index and the rebuild say it covers)."""
    path = tmp_path / "segment.mp4"
    writer = mp4.Mp4Writer(path, (64, 48))  # no rate: the stream says 30 fps
    noise = np.random.default_rng(0)
    for i in range(20):
        writer.write(noise.integers(0, 255, (48, 64, 3), dtype=np.uint8), i / 10)
    writer.close()
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        durations = [float(p.duration * stream.time_base) for p in container.demux(stream) if p.dts is not None]
    assert durations == [0.1] * 20, durations


def test_a_burst_of_buffered_frames_is_spread_at_least_a_frame_of_the_stated_rate_apart() -> None:
    """A stream stating 30 fps, five frames come at once (a camera's buffer at open): each is at
    least 1/30 s after the one before (33.3 ms: 34 ms, never 33), so no tool on the stated rate's
    grid sees two frames at one time."""
    times: list[float] = []
    writer = mp4.Mp4Writer(None, (64, 48), rate=30, tap=lambda t, key, data, stream: times.append(t))
    for _ in range(5):
        writer.write(np.zeros((48, 64, 3), np.uint8), 0.0)
    writer.close()
    gaps = [round((b - a) * 1000, 3) for a, b in zip(times, times[1:], strict=False)]  # ms
    assert len(gaps) == 4 and all(1000 / 30 <= gap < 2000 / 30 for gap in gaps), gaps


def test_after_a_stall_keyframes_come_a_second_apart_again_not_at_every_frame() -> None:
    """Frames at 10 fps for 2 s, no frame for 5 s (a stall), then 2 s more: the keyframes are a
    second of capture time apart (``keyframe_s``) before and after the stall, never a run of them
    while the schedule catches up with the time the stall skipped."""
    keys: list[float] = []
    writer = mp4.Mp4Writer(None, (64, 48), rate=10,
                           tap=lambda t, key, data, stream: keys.append(round(t, 3)) if key else None)
    for t in [i / 10 for i in range(20)] + [7 + i / 10 for i in range(20)]:
        writer.write(np.zeros((48, 64, 3), np.uint8), t)
    writer.close()
    assert keys == [0.0, 1.0, 7.0, 8.0], keys
