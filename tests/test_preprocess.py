"""Stage 2 against a reference computed another way (explicit crop, cvtColor, float math, transpose)."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from live_classify.engine.model import Preprocessing
from live_classify.engine.preprocess import Preprocessor, center_crop_box, resize_antialiased

from conftest import CHELSEA

LITE0 = Preprocessing(224, 224, 0.875, "RGB", (127.0, 127.0, 127.0), (128.0, 128.0, 128.0))


def reference(bgr: np.ndarray, pre: Preprocessing, box: tuple[int, int, int, int]) -> np.ndarray:
    """The textbook pipeline, step by step, with new arrays everywhere."""
    top, left, h, w = box
    crop = bgr[top : top + h, left : left + w].copy()
    resized = resize_antialiased(crop, np.empty((pre.height, pre.width, 3), np.uint8))
    if pre.color_order == "RGB":
        resized = cv2.cvtColor(resized, cv2.COLOR_BGR2RGB)
    x = (resized.astype(np.float64) - np.array(pre.mean)) / np.array(pre.std)
    return x.transpose(2, 0, 1)[None].astype(np.float32)


def run(pre: Preprocessing, bgr: np.ndarray) -> np.ndarray:
    out = np.full((1, 3, pre.height, pre.width), np.nan, np.float32)
    return Preprocessor(pre, out)(bgr)


@pytest.mark.parametrize("pre", [
    LITE0,
    Preprocessing(224, 224, 0.875, "BGR", (104.0, 117.0, 123.0), (58.0, 57.0, 57.5)),
    Preprocessing(192, 256, 1.0, "RGB", (123.675, 116.28, 103.53), (58.395, 57.12, 57.375)),
])
def test_matches_reference_on_a_photo(pre: Preprocessing) -> None:
    bgr = cv2.imread(str(CHELSEA))
    got = run(pre, bgr)
    want = reference(bgr, pre, center_crop_box(*bgr.shape[:2], pre))
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, atol=1e-5)


@pytest.mark.parametrize("frame", [(720, 1280), (1080, 1920), (2160, 3840), (480, 640)])
def test_resize_is_antialiased_like_inter_area(frame: tuple[int, int]) -> None:
    """On the worst case for aliasing (1-pixel stripes) what is left of the stripes is no more than
    INTER_AREA leaves, where a plain bilinear shrink keeps them at full strength; on a photo the
    result is close to INTER_AREA's."""
    side = min(frame)
    stripes = np.zeros((side, side, 3), np.uint8)
    stripes[:, ::2] = 255
    ours = resize_antialiased(stripes, np.empty((224, 224, 3), np.uint8)).astype(float)
    area = cv2.resize(stripes, (224, 224), interpolation=cv2.INTER_AREA).astype(float)
    assert ours.std() <= area.std() + 5
    assert cv2.resize(stripes, (224, 224), interpolation=cv2.INTER_LINEAR).std() > 60
    photo = cv2.resize(cv2.imread(str(CHELSEA)), (side, side))
    ours = resize_antialiased(photo, np.empty((224, 224, 3), np.uint8)).astype(float)
    assert np.abs(ours - cv2.resize(photo, (224, 224), interpolation=cv2.INTER_AREA)).mean() < 2


def test_crop_is_centered_and_keeps_the_fraction_of_the_shorter_side() -> None:
    assert center_crop_box(720, 1280, LITE0) == (45, 325, 630, 630)  # 720 * 0.875 = 630
    assert center_crop_box(1280, 720, LITE0) == (325, 45, 630, 630)  # portrait too
    full = Preprocessing(224, 448, 1.0, "RGB", (0.0,) * 3, (1.0,) * 3)  # wide model input: crop at 2:1
    assert center_crop_box(720, 1280, full) == (40, 0, 640, 1280)


def test_rgb_model_sees_red_in_channel_0() -> None:
    """A pure red BGR frame must light up channel 0 of an RGB model and channel 2 of a BGR one."""
    red = np.zeros((100, 100, 3), np.uint8)
    red[..., 2] = 255
    rgb = run(LITE0, red)[0]
    assert rgb[0].min() > 0.99 and rgb[1].max() < -0.99 and rgb[2].max() < -0.99
    bgr_model = Preprocessing(224, 224, 0.875, "BGR", (127.0,) * 3, (128.0,) * 3)
    assert run(bgr_model, red)[0][2].min() > 0.99


def test_writes_into_the_given_buffer_and_handles_tiny_frames() -> None:
    out = np.zeros((1, 3, 224, 224), np.float32)
    pre = Preprocessor(LITE0, out)
    result = pre(np.full((1, 1, 3), 200, np.uint8))
    assert result is out
    np.testing.assert_allclose(out, (200 - 127) / 128, atol=1e-6)


def test_rejects_a_buffer_of_the_wrong_shape() -> None:
    with pytest.raises(ValueError):
        Preprocessor(LITE0, np.zeros((1, 224, 224, 3), np.float32))
