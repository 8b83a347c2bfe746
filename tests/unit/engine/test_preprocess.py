"""Stage 2 against a reference computed another way (explicit crop, cvtColor, float math, transpose)."""
from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest
from conftest import CHELSEA

from live_classify.engine.model import Preprocessing
from live_classify.engine.preprocess import Preprocessor, center_crop_box, resize_antialiased

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


def two_step_reference(src: np.ndarray, size: tuple[int, int], k: int) -> np.ndarray:
    """What the fast resize promises: an exact 1/k box filter of the frame cut to a multiple of k,
    then bilinear for the rest."""
    h, w = src.shape[0] // k, src.shape[1] // k
    boxed = cv2.resize(src[: h * k, : w * k], (w, h), interpolation=cv2.INTER_AREA) if k > 1 else src
    return cv2.resize(boxed, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)


@pytest.mark.parametrize("shape, size, k", [
    ((630, 630), (224, 224), 2),  # the bundled model on 720p: a box filter by 2, then 315 -> 224
    ((1000, 701), (224, 224), 3),  # 4.46x and 3.13x: the smaller whole factor, both sides cut to a multiple of 3
    ((701, 1000), (100, 200), 5),  # 7x and 5x: the smaller factor again
    ((600, 1000), (224, 224), 2),  # the height limits: 2x, not the width's 4x
    ((300, 300), (224, 224), 1),  # less than 2x: bilinear alone
    ((448, 448), (224, 224), 2),  # exactly 2x
])
def test_resize_is_a_box_filter_by_the_whole_factor_then_bilinear(shape: tuple[int, int], size: tuple[int, int],
                                                                   k: int) -> None:
    src = np.random.default_rng(3).integers(0, 256, (*shape, 3), np.uint8)
    dst = np.zeros((*size, 3), np.uint8)
    got = resize_antialiased(src, dst)
    assert got is dst
    np.testing.assert_array_equal(got, two_step_reference(src, size, k))


def test_the_crop_of_tiny_and_odd_frames() -> None:
    assert center_crop_box(1, 1, LITE0) == (0, 0, 1, 1)  # never an empty crop
    assert center_crop_box(2, 2, LITE0) == (0, 0, 2, 2)  # 1.75 rounds to 2
    assert center_crop_box(101, 203, LITE0) == (6, 57, 88, 88)  # 88.375: odd margins round down
    tall = Preprocessing(300, 100, 0.5, "RGB", (0.0,) * 3, (1.0,) * 3)  # a 1:3 input, half the frame
    assert center_crop_box(600, 800, tall) == (150, 350, 300, 100)
    assert all(type(v) is int for v in center_crop_box(101, 203, LITE0))


def test_the_crop_is_the_frames_center_pixel_for_pixel() -> None:
    """Each pixel of a frame numbered by its position: what the model sees comes from exactly the
    box's rows and columns."""
    pre = Preprocessing(4, 6, 0.5, "BGR", (0.0,) * 3, (1.0,) * 3)  # 3:2, half of the shorter side
    rows, cols = np.mgrid[0:40, 0:90]
    frame = np.stack([rows, cols, np.zeros_like(rows)], axis=-1).astype(np.uint8)
    assert center_crop_box(40, 90, pre) == (10, 30, 20, 30)
    out = np.zeros((1, 4, 6, 3), np.uint8)
    Preprocessor(pre, out)(frame)
    want = resize_antialiased(frame[10:30, 30:60], np.empty((4, 6, 3), np.uint8))
    np.testing.assert_array_equal(out[0], want)
    assert out[0, ..., 0].min() >= 10 and out[0, ..., 0].max() <= 29
    assert out[0, ..., 1].min() >= 30 and out[0, ..., 1].max() <= 59


def test_uint8_buffers_get_the_resized_pixels_in_their_own_row_only() -> None:
    """Device normalization: the host writes the crop resized, BGR, NHWC, into one row of the batch."""
    bgr = cv2.imread(str(CHELSEA))
    out = np.full((3, 224, 224, 3), 7, np.uint8)
    pre = Preprocessor(LITE0, out)
    assert not pre.normalizes
    assert pre(bgr, row=1) is out
    top, left, h, w = center_crop_box(*bgr.shape[:2], LITE0)
    want = resize_antialiased(bgr[top : top + h, left : left + w], np.empty((224, 224, 3), np.uint8))
    np.testing.assert_array_equal(out[1], want)
    assert (out[0] == 7).all() and (out[2] == 7).all()


def test_float_buffers_get_each_frame_in_its_own_row_only() -> None:
    out = np.full((2, 3, 224, 224), 5.0, np.float32)
    pre = Preprocessor(LITE0, out)
    assert pre.normalizes
    pre(np.full((50, 80, 3), 255, np.uint8), row=1)
    np.testing.assert_allclose(out[1], 1.0, atol=1e-6)  # (255 - 127) / 128
    assert (out[0] == 5.0).all()


def test_each_channel_has_its_own_mean_and_std() -> None:
    pre = Preprocessing(8, 8, 1.0, "RGB", (10.0, 20.0, 30.0), (2.0, 4.0, 5.0))
    bgr = np.empty((8, 8, 3), np.uint8)
    bgr[...] = (100, 60, 40)  # B, G, R
    got = run(pre, bgr)[0]
    np.testing.assert_allclose(got[:, 0, 0], [(40 - 10) / 2, (60 - 20) / 4, (100 - 30) / 5], rtol=1e-6)
    bgr_pre = replace(pre, color_order="BGR")
    np.testing.assert_allclose(run(bgr_pre, bgr)[0][:, 0, 0], [(100 - 10) / 2, (60 - 20) / 4, (40 - 30) / 5], rtol=1e-6)


@pytest.mark.parametrize("buffer", [
    np.zeros((1, 3, 224, 224), np.float64),  # the right shape, another type
    np.zeros((1, 224, 224, 3), np.float32),  # NHWC floats
    np.zeros((1, 3, 224, 224), np.uint8),  # NCHW bytes
    np.zeros((3, 224, 224), np.float32),  # no batch dimension
    np.zeros((1, 3, 224, 225), np.float32),  # another size
    np.zeros((1, 225, 224, 3), np.uint8),
])
def test_any_other_buffer_is_refused_with_what_was_expected(buffer: np.ndarray) -> None:
    with pytest.raises(ValueError) as raised:
        Preprocessor(LITE0, buffer)
    assert str(raised.value) == ("buffer must be float32 (N, 3, 224, 224) or uint8 (N, 224, 224, 3), "
                                 f"got {buffer.dtype} {buffer.shape}")


def test_normalization_is_float32_arithmetic_bit_for_bit() -> None:
    """The device graph computes ``(x - mean) * (1 / std)`` in float32; the host must give the very
    same bits (the binding promises identical tensors both ways), not float64 math rounded once."""
    pre = Preprocessing(16, 16, 1.0, "RGB", (123.675, 116.28, 103.53), (58.395, 57.12, 57.375))
    values = np.arange(256, dtype=np.uint8).reshape(16, 16)
    bgr = np.stack([values, values[::-1], values.T], axis=-1)  # every byte value in every channel
    got = run(pre, bgr)[0]
    rgb = bgr[..., ::-1].transpose(2, 0, 1).astype(np.float32)
    mean = np.asarray(pre.mean, np.float32).reshape(3, 1, 1)
    inv_std = (1.0 / np.asarray(pre.std, np.float32)).reshape(3, 1, 1)
    np.testing.assert_array_equal(got, (rgb - mean) * inv_std)
