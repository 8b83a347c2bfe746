"""An MJPEG camera's frames as JPEGs decoded when first needed: the size read from the header, the
grey picture the gate looks at decoded small, the full one decoded once; a damaged packet refused."""
from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import make_video
from mjpeg_server import MjpegServer

from live_classify.config import SourceSpec
from live_classify.pipeline.frames import Frame
from live_classify.sources.capture import VideoSource
from live_classify.sources.picture import Picture, jpeg_size

CHELSEA = "tests/data/chelsea.png"


def jpeg(width: int, height: int, progressive: bool = False) -> np.ndarray:
    image = cv2.resize(cv2.imread(CHELSEA), (width, height))
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_PROGRESSIVE, int(progressive)])
    assert ok
    return data


@pytest.mark.parametrize("width, height, progressive", [(1280, 720, False), (641, 359, True), (16, 8, False)])
def test_the_size_is_read_from_the_header(width: int, height: int, progressive: bool) -> None:
    picture = Picture.of(jpeg(width, height, progressive))
    assert picture is not None and (picture.width, picture.height) == (width, height)
    assert Frame(0, 0.0, 0.0, picture).size == (width, height)


def test_what_is_no_jpeg_is_refused() -> None:
    data = jpeg(64, 48)
    assert jpeg_size(b"") is None
    assert jpeg_size(data[:30].tobytes()) is None  # cut before the frame header
    assert Picture.of(np.frombuffer(b"\x89PNG\r\n\x1a\n" + bytes(100), np.uint8)) is None
    assert Picture.of(data[:30]) is None


def test_the_gate_s_grey_picture_is_decoded_at_the_smallest_scale_that_keeps_its_rows() -> None:
    picture = Picture.of(jpeg(1280, 720))
    assert picture is not None
    assert picture.grey(100).shape == (180, 320)  # a quarter: an eighth would be 90 rows
    assert picture.grey(90).shape == (90, 160)  # an eighth
    assert picture.grey(500).shape == (720, 1280, 3)  # no scale keeps 500 rows but the full one
    small = Picture.of(jpeg(160, 90))
    assert small is not None and small.grey(100).shape == (90, 160, 3) and small.decoded_yet
    assert not picture.decoded_yet or picture.grey(500) is picture.decoded()


def test_the_full_picture_is_decoded_once_as_opencv_decodes_it_and_then_serves_the_gate_too() -> None:
    data = jpeg(320, 240)
    picture = Picture.of(data)
    assert picture is not None and not picture.decoded_yet
    frame = Frame(0, 0.0, 0.0, picture)
    assert np.array_equal(frame.image, cv2.imdecode(data, cv2.IMREAD_COLOR))
    assert picture.decoded_yet and frame.image is frame.image  # decoded once, kept
    assert frame.grey(100) is frame.image  # decoded already: nothing smaller to decode


def test_two_threads_asking_at_once_decode_it_once() -> None:
    picture = Picture.of(jpeg(1280, 720))
    assert picture is not None
    seen: list[np.ndarray] = []
    threads = [threading.Thread(target=lambda: seen.append(picture.decoded())) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(image) for image in seen}) == 1


def test_a_jpeg_too_damaged_to_decode_is_black_at_its_size() -> None:
    data = jpeg(64, 48)
    header_only = data[:int(np.flatnonzero((data[:-1] == 0xFF) & (data[1:] == 0xDA))[0]) + 2]
    picture = Picture.of(header_only)
    assert picture is not None
    assert picture.decoded().shape == (48, 64, 3) and not picture.decoded().any()


def test_an_mjpeg_stream_is_read_as_its_jpegs_and_they_decode_to_its_frames() -> None:
    with MjpegServer(CHELSEA, fps=30, width=640, height=360) as server:
        source = VideoSource(SourceSpec(server.url, "stream", server.url))
        try:
            frame = source.read()
            assert isinstance(frame, Picture) and (frame.width, frame.height) == (640, 360)
            assert frame.decoded().shape == (360, 640, 3)
            assert abs(float(frame.decoded().mean()) - float(cv2.resize(cv2.imread(CHELSEA), (640, 360)).mean())) < 8
        finally:
            source.release()


def test_a_header_long_before_the_frame_s_size_is_read_through() -> None:
    # A camera that puts metadata (an EXIF thumbnail, its own tags) first: the frame header comes
    # tens of kilobytes in. An APP13 segment of 40 KB before the rest, as such a camera sends it.
    data = jpeg(320, 240).tobytes()
    segment = b"\xff\xed" + (2 + 40000).to_bytes(2, "big") + bytes(40000)
    padded = np.frombuffer(data[:2] + segment + data[2:], np.uint8)
    picture = Picture.of(padded)
    assert picture is not None, "a picture whose header is 40 KB long was taken for a damaged one"
    assert (picture.width, picture.height) == (320, 240)
    assert np.array_equal(picture.decoded(), cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR))


def test_an_mjpeg_stream_s_damaged_frames_are_skipped_not_taken_for_its_end() -> None:
    # Every 2nd part damaged (by turns cut short, or its bytes reversed: no JPEG at all).
    with MjpegServer(CHELSEA, fps=30, width=320, height=240, corrupt_every=2) as server:
        source = VideoSource(SourceSpec(server.url, "stream", server.url))
        try:
            read = [source.read() for _ in range(12)]
        finally:
            source.release()
    assert all(isinstance(frame, Picture) for frame in read), f"a damaged frame ended the stream: {read}"
    assert all((frame.width, frame.height) == (320, 240) for frame in read)  # type: ignore[union-attr]


def test_a_stream_that_is_not_mjpeg_is_decoded_as_opencv_decodes_it(tmp_path: Path) -> None:
    # An H.264 or MPEG-4 stream (here a file read as a stream) keeps OpenCV's decoding: its frames are pictures.
    clip = make_video(tmp_path / "clip.mp4", 10, size=(320, 240))
    source = VideoSource(SourceSpec(str(clip), "stream", str(clip)))
    try:
        frame = source.read()
    finally:
        source.release()
    assert isinstance(frame, np.ndarray) and frame.shape == (240, 320, 3), "its packets taken as JPEGs"


def test_tables_before_the_frame_header_are_not_taken_for_it() -> None:
    # Many cameras send their Huffman tables (DHT, 0xFFC4) before the frame header (SOF0, 0xFFC0):
    # a marker of the same 0xC_ range that carries no size. OpenCV puts them after it; moved first here.
    data = jpeg(320, 240).tobytes()
    segments, at = [], 2
    while data[at + 1] != 0xDA:  # up to the scan
        end = at + 2 + int.from_bytes(data[at + 2:at + 4], "big")
        segments.append(data[at:end])
        at = end
    tables = [s for s in segments if s[1] == 0xC4]
    assert tables and segments.index(tables[0]) > [s[1] for s in segments].index(0xC0)
    moved = data[:2] + b"".join(tables + [s for s in segments if s[1] != 0xC4]) + data[at:]
    picture = Picture.of(np.frombuffer(moved, np.uint8))
    assert picture is not None and (picture.width, picture.height) == (320, 240), \
        "the Huffman tables were read as the frame's size"
    assert np.array_equal(picture.decoded(), cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR))


def test_fill_bytes_before_a_marker_are_skipped_one_at_a_time() -> None:
    # A marker may be preceded by any number of 0xFF fill bytes (JPEG, B.1.1.2); some encoders pad with
    # them. One fill byte before the frame header, two before each other segment: the size is read.
    data = jpeg(320, 240).tobytes()
    at, padded = 2, bytearray(data[:2])
    while data[at + 1] != 0xDA:  # each segment up to the scan, with its fill bytes
        end = at + 2 + int.from_bytes(data[at + 2:at + 4], "big")
        padded += b"\xff" * (1 if data[at + 1] == 0xC0 else 2) + data[at:end]
        at = end
    padded += data[at:]
    assert padded.count(b"\xff\xff\xc0") == 1  # the frame header has its fill byte
    picture = Picture.of(np.frombuffer(bytes(padded), np.uint8))
    assert picture is not None and (picture.width, picture.height) == (320, 240), \
        "a fill byte before a marker was skipped with the byte after it: the frame was taken for a damaged one"
    assert np.array_equal(picture.decoded(), cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR))
