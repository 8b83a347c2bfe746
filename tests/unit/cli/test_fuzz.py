"""Property-based fuzzing: no flag combination and no image file may end in a traceback."""
from __future__ import annotations

import contextlib
import io
from pathlib import Path

import cv2
import numpy as np
from conftest import COFFEE, DATA
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from live_classify.cli.main import main
from live_classify.engine.classifier import Classifier
from live_classify.errors import LiveClassifyError
from live_classify.sources.photos import read_image

FLAG_VALUES = {
    "--top-k": st.sampled_from(["1", "3", "0", "-2", "x", "1000000", ""]),
    "--provider": st.sampled_from(["cpu", "auto", "cuda", "tensorrt", "gpu", ""]),
    "--threads": st.sampled_from(["1", "2", "-1", "nan"]),
    "--input-size": st.sampled_from(["224", "96x128", "0", "7x", "x7", "1x1", "abc"]),
    "--crop-fraction": st.sampled_from(["0.5", "1", "0", "1.1", "nan", "inf", "-0.3"]),
    "--color-order": st.sampled_from(["RGB", "bgr", "rgba", ""]),
    "--mean": st.sampled_from(["127", "1,2,3", "1,2", "nan", "1e309", ",,"]),
    "--std": st.sampled_from(["128", "0", "1,1,1", "a,b,c", "-1"]),
    "--smooth": st.sampled_from(["0.5", "1", "0", "2", "nan"]),
    "--labels": st.sampled_from(["{tmp}/labels.txt", "{tmp}/missing.txt", "{tmp}", "{tmp}/empty.txt"]),
    "--model": st.sampled_from(["{tmp}/missing.onnx", "{tmp}/junk.onnx", "{tmp}", str(COFFEE)]),
    "--source": st.sampled_from([str(COFFEE), str(DATA), "{tmp}/missing.png", "{tmp}/junk.png", "{tmp}/*.none"]),
    "--camera": st.sampled_from(["9", "front", "-1", "/dev/null-camera"]),
    "--fourcc": st.sampled_from(["MJPG", "MJPEG", "", "ééé"]),
    "--json": st.none(),
    "--trace": st.none(),
    "--headless": st.none(),
    "--record": st.sampled_from(["{tmp}/rec/", "{tmp}/a.mp4", "{tmp}/a.avi", "{tmp}", "{tmp}/a.mov", "{tmp}/a.mp4/"]),
    "--segment": st.sampled_from(["10m", "0", "0.5s", "5 parsecs", ""]),
    "--retain": st.sampled_from(["50GB", "7d", "5 parsecs", "0d", "-1GB"]),
    "--encoder": st.sampled_from(["auto", "libx264", "h264_nvenc", "x265"]),
    "--bitrate": st.sampled_from(["2M", "800k", "x", "0"]),
    "--crf": st.sampled_from(["23", "99", "-1"]),
}


def argv_strategy() -> st.SearchStrategy[list[str]]:
    flag = st.sampled_from(sorted(FLAG_VALUES)).flatmap(
        lambda name: st.tuples(st.just(name), FLAG_VALUES[name]))
    return st.lists(flag, max_size=4).map(
        lambda pairs: [part for name, value in pairs for part in ([name] if value is None else [name, value])])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(argv=argv_strategy())
def test_any_flags_end_in_a_result_or_one_clean_error(argv: list[str], tmp_path: Path) -> None:
    (tmp_path / "labels.txt").write_text("a\nb\n")
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "junk.onnx").write_bytes(b"\x08\x01garbage")
    (tmp_path / "junk.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    if "--source" not in argv and "--camera" not in argv:
        argv += ["--source", str(COFFEE)]
    if "--provider" not in argv:
        argv += ["--provider", "cpu"]
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(argv)
        except SystemExit as exit_:
            code = exit_.code
    assert code in (0, 1, 2), (argv, code, stderr.getvalue())
    errors = [line for line in stderr.getvalue().splitlines() if "error:" in line]
    assert bool(errors) == (code != 0), ("an error line and a non-zero exit go together", argv, code, errors)
    usage = any(line.endswith("(see --help)") for line in errors)
    assert usage == (code == 2), ("a bad command line, and only that, exits 2", argv, code, errors)
    if code == 2:
        assert len(errors) == 1, (argv, stderr.getvalue())


IMAGE = st.fixed_dictionaries({
    "height": st.integers(1, 80),
    "width": st.integers(1, 80),
    "channels": st.sampled_from([1, 3, 4]),
    "depth": st.sampled_from([np.uint8, np.uint16]),
    "suffix": st.sampled_from([".png", ".jpg", ".bmp", ".tiff", ".webp"]),
    "cut": st.one_of(st.none(), st.floats(0.0, 0.99)),
    "seed": st.integers(0, 2**16),
})


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=IMAGE)
def test_any_image_file_is_classified_or_rejected_cleanly(spec: dict, tmp_path: Path, classifier: Classifier) -> None:
    rng = np.random.default_rng(spec["seed"])
    top = 255 if spec["depth"] is np.uint8 else 65535
    shape = (spec["height"], spec["width"]) + ((spec["channels"],) if spec["channels"] > 1 else ())
    pixels = rng.integers(0, top + 1, shape).astype(spec["depth"])
    ok, encoded = cv2.imencode(spec["suffix"], pixels)
    data = encoded.tobytes() if ok else rng.bytes(100)
    if spec["cut"] is not None:
        data = data[: int(len(data) * spec["cut"])]
    path = tmp_path / f"fuzz{spec['suffix']}"
    path.write_bytes(data)
    try:
        image = read_image(path)
    except LiveClassifyError as error:
        assert str(path) in str(error)
        return
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
    result = classifier.classify(image)
    assert len(result.top.labels) == 5 and 0 <= result.top.score <= 1


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=2048))
def test_random_bytes_are_rejected_or_decoded_cleanly(data: bytes, tmp_path: Path) -> None:
    path = tmp_path / "random.jpg"
    path.write_bytes(data)
    try:
        image = read_image(path)
    except LiveClassifyError:
        return
    assert image.ndim == 3  # a few random byte strings do decode (e.g. some PNM headers): fine, as an image


def test_very_large_and_extreme_images(tmp_path: Path, classifier: Classifier) -> None:
    big = tmp_path / "big.png"
    cv2.imwrite(str(big), np.full((4000, 6000, 3), 128, np.uint8))
    assert classifier.classify(read_image(big)).top.score <= 1
    for shape in ((1, 1), (1, 5000), (5000, 1)):
        path = tmp_path / f"{shape[0]}x{shape[1]}.png"
        cv2.imwrite(str(path), np.zeros(shape, np.uint8))
        assert classifier.classify(read_image(path)).top.score <= 1
