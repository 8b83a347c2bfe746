"""The encoder's settings as units: the size recorded, each encoder's options, the stream
configured, and the encoder chosen (or refused in one line)."""
from __future__ import annotations

from fractions import Fraction
from types import SimpleNamespace

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
