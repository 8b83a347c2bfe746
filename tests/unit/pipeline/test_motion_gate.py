"""The motion gate on synthetic frames: a still scene with sensor noise, a moving square, the lights
switched on, a masked region, the refresh, a new frame size; and the masks' checks."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from live_classify.config import GateConfig
from live_classify.errors import UsageError
from live_classify.pipeline.gate import MotionGate, Verdict, check_masks

W, H = 640, 480
DT = 1 / 30
FIRST, MOTION, SCENE, REFRESH, STILL = Verdict.FIRST, Verdict.MOTION, Verdict.SCENE, Verdict.REFRESH, Verdict.STILL


def scene(seed: int = 0) -> np.ndarray:
    """A smooth, textured picture in mid greys and colours (values about 30-220)."""
    coarse = np.random.default_rng(seed).integers(30, 220, (24, 32, 3), dtype=np.uint8)
    return cv2.resize(coarse, (W, H), interpolation=cv2.INTER_CUBIC)


def noisy(picture: np.ndarray, rng: np.random.Generator, sigma: float = 4.0) -> np.ndarray:
    """``picture`` as a camera's sensor gives it: a fresh noise each frame."""
    return np.clip(picture + rng.normal(0, sigma, picture.shape), 0, 255).astype(np.uint8)


def with_square(picture: np.ndarray, x: int, y: int, side: int = 60) -> np.ndarray:
    out = picture.copy()
    out[y:y + side, x:x + side] = (20, 20, 240)
    return out


def verdicts(gate: MotionGate, frames: list[np.ndarray], t0: float = 0.0) -> list[Verdict]:
    return [gate.check(frame, t0 + k * DT) for k, frame in enumerate(frames)]


def test_a_still_scene_with_sensor_noise_is_still_after_its_first_frame() -> None:
    rng, base = np.random.default_rng(1), scene()
    got = verdicts(MotionGate(GateConfig()), [noisy(base, rng) for _ in range(60)])
    assert got == [FIRST] + [STILL] * 59


def test_a_moving_square_is_motion_each_frame_it_moves() -> None:
    rng, base = np.random.default_rng(2), scene()
    frames = [noisy(base, rng) for _ in range(5)] + [noisy(with_square(base, 100 + 20 * k, 200), rng) for k in range(5)]
    assert verdicts(MotionGate(GateConfig()), frames) == [FIRST] + [STILL] * 4 + [MOTION] * 5


def test_a_square_smaller_than_the_area_is_no_motion() -> None:
    rng, base = np.random.default_rng(3), scene()
    frames = [noisy(base, rng)] + [noisy(with_square(base, 100 + 20 * k, 200, side=60), rng) for k in range(3)]
    # 60x60 of 640x480 is 1.2 % of the picture (where it differs enough from the scene behind it, 0.6-1 %)
    assert verdicts(MotionGate(GateConfig(area_pct=0.5)), frames) == [FIRST, MOTION, MOTION, MOTION]
    assert verdicts(MotionGate(GateConfig(area_pct=2.0)), frames) == [FIRST, STILL, STILL, STILL]


def with_specks(picture: np.ndarray, rng: np.random.Generator, side: int = 6, step: int = 48) -> np.ndarray:
    """``picture`` under snow: a white speck every ``step`` px, each frame somewhere else."""
    out = picture.copy()
    for y in range(step // 2, H - side, step):
        for x in range(step // 2, W - side, step):
            dx, dy = rng.integers(-8, 8, 2)
            out[y + dy:y + dy + side, x + dx:x + dx + side] = 255
    return out


def test_specks_all_over_the_picture_are_no_motion_when_none_covers_the_area() -> None:
    rng, base = np.random.default_rng(7), scene()
    frames = [noisy(base, rng) for _ in range(3)] + [noisy(with_specks(base, rng), rng) for _ in range(6)]
    # together the specks cover more than 0.1 % of the picture; each one far less: the area is one region's
    assert verdicts(MotionGate(GateConfig()), frames) == [FIRST] + [STILL] * 8


def test_the_lights_switched_on_learn_the_background_anew_and_are_classified_once() -> None:
    rng, dark = np.random.default_rng(4), scene() // 3
    lit = scene()
    frames = [noisy(dark, rng) for _ in range(5)] + [noisy(lit, rng) for _ in range(20)]
    assert verdicts(MotionGate(GateConfig()), frames) == [FIRST] + [STILL] * 4 + [SCENE] + [STILL] * 19


def test_a_new_scene_is_classified_once_then_still() -> None:
    rng = np.random.default_rng(5)
    frames = [noisy(scene(0), rng) for _ in range(3)] + [noisy(scene(7), rng) for _ in range(10)]
    assert verdicts(MotionGate(GateConfig()), frames) == [FIRST, STILL, STILL, SCENE] + [STILL] * 9


def test_a_new_scene_behind_large_masks_is_judged_on_the_part_left_unmasked() -> None:
    # 60 % of the picture masked: the new scene changes all of the rest, which is less than half of the
    # whole picture but all of what the check looks at. Judged on the whole picture it would be motion,
    # frame after frame, until the old background faded (and every one of them classified).
    rng, gate = np.random.default_rng(12), MotionGate(GateConfig(masks=((0, 0, 384, H),)))
    frames = [noisy(scene(0), rng) for _ in range(3)] + [noisy(scene(7), rng) for _ in range(10)]
    assert verdicts(gate, frames) == [FIRST, STILL, STILL, SCENE] + [STILL] * 9


def test_motion_inside_a_mask_is_ignored_and_outside_it_is_not() -> None:
    rng, base = np.random.default_rng(6), scene()
    inside = [noisy(with_square(base, 420 + 10 * k, 20), rng) for k in range(5)]  # within 400,0,240,120
    outside = [noisy(with_square(base, 100 + 20 * k, 300), rng) for k in range(3)]
    gate = MotionGate(GateConfig(masks=((400, 0, 240, 120),)))
    assert verdicts(gate, [noisy(base, rng)] + inside + outside) == [FIRST] + [STILL] * 5 + [MOTION] * 3
    unmasked = MotionGate(GateConfig())
    assert verdicts(unmasked, [noisy(base, rng)] + inside) == [FIRST] + [MOTION] * 5


def test_a_still_camera_is_classified_again_after_the_refresh() -> None:
    rng, base, gate = np.random.default_rng(7), scene(), MotionGate(GateConfig(refresh_s=10.0))
    times = [0.0, 5.0, 9.9, 10.0, 12.0, 19.9, 20.0]
    got = [gate.check(noisy(base, rng), t) for t in times]
    assert got == [FIRST, STILL, STILL, REFRESH, STILL, STILL, REFRESH]


def test_motion_resets_the_refresh() -> None:
    rng, base, gate = np.random.default_rng(8), scene(), MotionGate(GateConfig(refresh_s=10.0))
    frames = [(0.0, base), (8.0, with_square(base, 300, 300)), (12.0, base), (17.9, base), (18.0, base)]
    got = [gate.check(noisy(picture, rng), t) for t, picture in frames]
    assert got == [FIRST, MOTION, STILL, STILL, REFRESH]


def test_a_new_frame_size_starts_again() -> None:
    rng, gate = np.random.default_rng(9), MotionGate(GateConfig())
    small = cv2.resize(scene(), (320, 240))
    assert [gate.check(noisy(scene(), rng), 0.0), gate.check(noisy(small, rng), DT),
            gate.check(noisy(small, rng), 2 * DT)] == [FIRST, FIRST, STILL]


def test_a_grey_frame_is_checked_as_well() -> None:
    rng, grey = np.random.default_rng(10), cv2.cvtColor(scene(), cv2.COLOR_BGR2GRAY)
    assert verdicts(MotionGate(GateConfig()), [noisy(grey, rng) for _ in range(3)]) == [FIRST, STILL, STILL]


def test_a_mask_over_the_whole_frame_leaves_only_the_refresh() -> None:
    rng, base, gate = np.random.default_rng(11), scene(), MotionGate(GateConfig(masks=((0, 0, W, H),)))
    got = [gate.check(noisy(picture, rng), t) for t, picture in
           [(0.0, base), (1.0, scene(5)), (2.0, with_square(base, 0, 0)), (10.0, base)]]
    assert got == [FIRST, STILL, STILL, REFRESH]


def test_masks_beyond_the_frame_are_refused_and_one_over_all_of_it_warned_about() -> None:
    with pytest.raises(UsageError, match=r"--gate-mask 600,0,100,10 reaches beyond the 640x480 frame"):
        check_masks(((600, 0, 100, 10),), W, H)
    assert check_masks(((0, 0, 640, 240), (0, 240, 640, 240)), W, H) == [
        "--gate-mask: the masks cover the whole 640x480 frame: only the refresh (--gate-refresh) will classify"]
    assert check_masks(((0, 0, 640, 240),), W, H) == []
    assert check_masks((), W, H) == []


def test_a_flashing_tv_under_a_large_mask_does_not_move_the_contrast_of_the_rest() -> None:
    # The stretch reads the percentiles of the unmasked pixels only: read over the whole picture, a TV
    # that covers 60 % of it, flashing black and white, would stretch the still rest into "motion".
    rng, base = np.random.default_rng(13), scene()

    def tv(level: int) -> np.ndarray:
        out = base.copy()
        out[:, :384] = level
        return noisy(out, rng)

    gate = MotionGate(GateConfig(masks=((0, 0, 384, H),)))
    frames = [tv(128) for _ in range(3)] + [tv(255 if k % 2 else 0) for k in range(40)]
    assert verdicts(gate, frames) == [FIRST] + [STILL] * 42


def test_a_uniform_frame_is_checked_like_any_other() -> None:
    # A lens cap, a camera's "no signal" screen, a black night: no contrast to stretch (4th and 96th
    # percentiles equal), which must neither fail nor hide the picture that comes back.
    black = np.zeros((H, W, 3), np.uint8)
    assert verdicts(MotionGate(GateConfig()), [black] * 3 + [scene()] * 2) == [FIRST, STILL, STILL, SCENE, STILL]


def test_something_that_arrives_and_stays_becomes_background() -> None:
    # A parked car: motion while it comes, then part of the scene (the background's running average
    # takes it in within seconds at 30 fps), no longer classified on every frame.
    rng, base = np.random.default_rng(14), scene()
    parked = with_square(base, 300, 200, side=100)
    frames = [noisy(base, rng) for _ in range(3)] + [noisy(parked, rng) for _ in range(300)]
    got = verdicts(MotionGate(GateConfig()), frames)
    assert got[:4] == [FIRST, STILL, STILL, MOTION]
    assert got[-60:] == [STILL] * 60, "still motion 8 s after it stopped"


def test_the_threshold_is_a_difference_the_pixel_must_exceed() -> None:
    # No luma differs from another by more than 255: at --gate-threshold 255 even black turned white is no change.
    board = np.kron((np.indices((12, 16)).sum(axis=0) % 2) * 255, np.ones((40, 40))).astype(np.uint8)
    frames = [board, board, 255 - board, 255 - board]
    assert verdicts(MotionGate(GateConfig(threshold=255)), frames) == [FIRST, STILL, STILL, STILL]
    assert verdicts(MotionGate(GateConfig(threshold=254)), frames) == [FIRST, STILL, SCENE, STILL]


def test_a_mask_away_from_the_corner_is_placed_by_its_x_y_width_and_height() -> None:
    rng, base = np.random.default_rng(16), scene()
    inside = [noisy(with_square(base, 380 + 10 * k, 320), rng) for k in range(5)]  # within 300,250,200,150
    above = [noisy(with_square(base, 380 + 10 * k, 175), rng) for k in range(3)]  # just above it
    gate = MotionGate(GateConfig(masks=((300, 250, 200, 150),)))
    assert verdicts(gate, [noisy(base, rng)] + inside + above) == [FIRST] + [STILL] * 5 + [MOTION] * 3


def test_a_new_scene_counts_as_classified_for_the_refresh() -> None:
    rng, gate = np.random.default_rng(17), MotionGate(GateConfig(refresh_s=10.0))
    frames = [(0.0, scene(0)), (8.0, scene(5)), (12.0, scene(5)), (17.9, scene(5)), (18.0, scene(5))]
    got = [gate.check(noisy(picture, rng), t) for t, picture in frames]
    assert got == [FIRST, SCENE, STILL, STILL, REFRESH]


def with_wire(picture: np.ndarray, x: int) -> np.ndarray:
    """``picture`` crossed by a thin diagonal wire (a cable, a branch): about a pixel wide at the check's size."""
    out = picture.copy()
    cv2.line(out, (x, 0), (x + 400, 400), (255, 255, 255), 2)
    return out


def test_a_thin_diagonal_wire_is_one_region_not_a_staircase_of_pieces() -> None:
    # A diagonal of one-pixel steps touches only at the corners: counted as one region (8-connected) it
    # covers 1 % of the picture; cut at each corner (4-connected), its largest piece is well under that.
    rng, base = np.random.default_rng(3), scene()
    frames = [noisy(base, rng) for _ in range(3)] + [noisy(with_wire(base, 100), rng)]
    assert verdicts(MotionGate(GateConfig(area_pct=1.0)), frames) == [FIRST, STILL, STILL, MOTION]
