"""The many-camera window as a unit: the grid's layout, its throttle, focus, keys and ended cameras,
and ``--windows``, with OpenCV's GUI calls replaced by a recorder (no display needed)."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import run_cli
from grid_feeder import COLORS, canvas
from grid_feeder import camera_update as update
from updates import FakeSink

from live_classify.sinks.base import Sinks
from live_classify.sinks.collect import Collecting, Collector
from live_classify.sinks.display import grid as grid_module
from live_classify.sinks.display.grid import FOCUS, STRIP, STRIP_BG, Grid, Layout
from live_classify.sinks.display.windows import Windows

CAMERAS = list(COLORS)


class FakeGui:
    """Stands in for OpenCV's HighGUI: records what is shown, plays keys, holds the mouse callbacks."""

    def __init__(self) -> None:
        self.shown: list[tuple[str, np.ndarray]] = []
        self.keys: list[int] = []
        self.mouse: dict[str, tuple] = {}
        self.closed: set[str] = set()
        self.moved: dict[str, tuple[int, int]] = {}
        self.destroyed: list[str] = []

    def last(self, title: str = "live-classify") -> np.ndarray:
        return next(image for name, image in reversed(self.shown) if name == title)

    def click(self, title: str, x: int, y: int) -> None:
        callback, *param = self.mouse[title]
        callback(cv2.EVENT_LBUTTONDOWN, x, y, 0, *(param or [None]))

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        fakes = {
            "namedWindow": lambda *a: None, "resizeWindow": lambda *a: None, "destroyAllWindows": lambda: None,
            "imshow": lambda title, image: self.shown.append((title, image.copy())),
            "waitKey": lambda _ms: self.keys.pop(0) if self.keys else -1,
            "setMouseCallback": lambda title, callback, *param: self.mouse.__setitem__(title, (callback, *param)),
            "getWindowProperty": lambda title, _prop: 0.0 if title in self.closed else 1.0,
            "moveWindow": lambda title, x, y: self.moved.__setitem__(title, (x, y)),
            "destroyWindow": self.destroyed.append,
        }
        for name, fake in fakes.items():
            monkeypatch.setattr(cv2, name, fake)
        monkeypatch.setattr(grid_module, "screen_size", lambda: (1280, 800))
        monkeypatch.setattr("live_classify.sinks.display.window.screen_size", lambda: (1280, 800))


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def gui(monkeypatch: pytest.MonkeyPatch) -> FakeGui:
    fake = FakeGui()
    fake.install(monkeypatch)
    return fake


@pytest.fixture
def clock() -> Clock:
    return Clock()


def feed(sink: Grid, clock: Clock, seconds: float, fps: float = 30.0, shade: int = 0) -> int:
    """Every camera at ``fps`` for ``seconds``, interleaved as the main loop would hand them over."""
    count = 0
    for i in range(round(seconds * fps)):
        for camera in CAMERAS:
            clock.now += 1 / (fps * len(CAMERAS))
            sink.write(update(camera, i, canvas(camera, shade)))
            count += 1
    return count


def cell_of(layout: Layout, camera: str) -> np.s_:
    left, top = layout.origin(camera)
    return np.s_[top : top + layout.cell[1], left : left + layout.cell[0]]


@pytest.mark.parametrize(("n", "cols", "rows"), [(1, 1, 1), (2, 2, 1), (3, 2, 2), (4, 2, 2), (5, 3, 2), (9, 3, 3),
                                                (10, 4, 3)])
def test_the_grid_has_ceil_sqrt_n_columns_and_fits_the_screen(n: int, cols: int, rows: int) -> None:
    layout = Layout.of([f"cam{i}" for i in range(n)], (640, 480), (1280, 800))
    assert (layout.cols, layout.rows) == (cols, rows)
    assert layout.size[0] <= 1152 and layout.size[1] <= 720
    origins = {layout.origin(f"cam{i}") for i in range(n)}
    assert len(origins) == n, "every camera has a cell of its own"


def test_a_point_finds_its_tile_and_an_empty_cell_none() -> None:
    layout = Layout.of(CAMERAS, (640, 480), (1280, 800))
    width, height = layout.cell
    for camera in CAMERAS:
        left, top = layout.origin(camera)
        assert layout.hit(left + width // 2, top + height // 2) == camera
    assert layout.hit(width + width // 2, height + height // 2) is None, "the fourth cell of a 2x2 grid is empty"
    assert layout.hit(layout.size[0] + 5, 5) is None


def test_each_camera_is_drawn_in_its_own_cell_under_its_name_strip(gui: FakeGui, clock: Clock) -> None:
    grid = Grid(CAMERAS, clock=clock)
    feed(grid, clock, 0.2)
    shown = gui.last()
    layout = grid._layout
    assert shown.shape[1::-1] == layout.size
    for camera in CAMERAS:
        cell = shown[cell_of(layout, camera)]
        middle = cell[STRIP + cell.shape[0] // 3 : -cell.shape[0] // 3, cell.shape[1] // 3 : -cell.shape[1] // 3]
        assert np.abs(middle.reshape(-1, 3).mean(axis=0) - COLORS[camera]).max() < 3, camera
        strip = cell[:STRIP]
        assert (strip == STRIP_BG).all(axis=2).mean() > 0.7, f"{camera}: no name strip"
        assert (strip.min(axis=2) > 200).sum() > 30, f"{camera}: no name written in the strip"


def test_a_tile_keeps_its_aspect_letterboxed(gui: FakeGui, clock: Clock) -> None:
    grid = Grid(["wide", "tall"], clock=clock)
    grid.tile("wide", np.full((240, 640, 3), 200, np.uint8))
    clock.now += 1
    grid.tile("tall", np.full((640, 240, 3), 200, np.uint8))
    shown, layout = gui.last(), grid._layout
    tall = shown[cell_of(layout, "tall")][STRIP:]
    lit = (tall == 200).all(axis=2)
    columns = np.flatnonzero(lit.any(axis=0))
    assert (tall[:, : columns[0]] == 0).all() and (tall[:, columns[-1] + 1 :] == 0).all(), "black bars at the sides"
    ratio = lit.sum(axis=0).max() / len(columns)
    assert abs(ratio - 640 / 240) < 0.1, "the picture keeps its shape"


def test_n_cameras_at_30_fps_put_the_grid_on_screen_at_most_30_times_a_second(gui: FakeGui, clock: Clock) -> None:
    grid = Grid(CAMERAS, clock=clock)
    written = feed(grid, clock, 2.0)
    assert written == 180
    assert 50 <= len(gui.shown) <= 61, f"{len(gui.shown)} composites for 2 s: not throttled to ~30 a second"
    assert sum(tile.shown for tile in grid.tiles.values()) == grid.frames_shown <= written
    assert all(tile.shown >= 25 for tile in grid.tiles.values()), "every camera goes on screen"
    clock.now += 0.1
    grid.tile("yard", canvas("yard", 40))  # the newest frame of one camera...
    clock.now += 0.01
    grid.idle(lambda camera: None)
    assert len(gui.shown) <= 63
    yard = gui.last()[cell_of(grid._layout, "yard")][STRIP + 40, 40]
    assert tuple(yard) == tuple(np.array(COLORS["yard"]) + 40), "...is on screen once the throttle allows"


def test_a_click_focuses_a_tile_and_s_saves_that_camera_or_else_the_grid(gui: FakeGui, clock: Clock,
                                                                      tmp_path: Path) -> None:
    grid = Grid(CAMERAS, tmp_path, clock=clock)
    for camera in CAMERAS:
        grid.tile(camera, canvas(camera, size=(320 if camera == "yard" else 640, 240 if camera == "yard" else 480)))
        clock.now += 1
    layout = grid._layout
    left, top = layout.origin("yard")
    gui.click("live-classify", left + 30, top + 60)
    assert grid.focused == "yard"
    gui.keys.append(ord("s"))
    clock.now += 1
    grid.idle(lambda camera: None)
    border = gui.last()[cell_of(layout, "yard")][:, :2]
    assert (border == FOCUS).all(axis=2).mean() > 0.9, "the focused tile's border is highlighted"
    (saved,) = tmp_path.glob("live-classify-yard-*.png")
    assert np.array_equal(cv2.imread(str(saved)), canvas("yard", size=(320, 240))), "the camera's own picture"

    gui.click("live-classify", left + 30, top + 60)  # again: let go
    assert grid.focused is None
    gui.keys.append(ord("s"))
    clock.now += 1
    grid.idle(lambda camera: None)
    (whole,) = [p for p in tmp_path.glob("live-classify-*.png") if p != saved]
    assert cv2.imread(str(whole)).shape[1::-1] == layout.size, "no tile focused: the whole grid"


def test_keys_1_to_9_need_a_focused_tile_and_collect_from_it_only(gui: FakeGui, clock: Clock) -> None:
    grid = Grid(CAMERAS, clock=clock)
    feed(grid, clock, 0.1)
    gui.keys.append(ord("2"))
    clock.now += 1
    grid.idle(lambda camera: None)
    assert grid.class_key is None
    bottom = gui.last()[-60:]
    assert (np.abs(bottom.astype(int) - (60, 170, 255)) <= 20).all(axis=2).sum() > 100, "a notice says why"
    left, top = grid._layout.origin("shop")
    gui.click("live-classify", left + 50, top + 50)
    gui.keys.append(ord("2"))
    clock.now += 1
    grid.idle(lambda camera: None)
    assert grid.class_key == 2
    assert grid.collects_from("shop") and not grid.collects_from("door")


def test_space_pauses_every_tile_and_q_quits(gui: FakeGui, clock: Clock) -> None:
    grid = Grid(CAMERAS, clock=clock)
    feed(grid, clock, 0.2)
    gui.keys.append(ord(" "))
    feed(grid, clock, 0.2, shade=30)  # the first composite after the pause says so, then stays
    assert grid.paused
    paused, count = gui.last(), len(gui.shown)
    drawn = []
    for i in range(30):
        clock.now += 1 / 30
        image = canvas(CAMERAS[i % 3], 50)
        grid.write(update(CAMERAS[i % 3], i, image, lambda image=image: drawn.append(1) or image))
    clock.now += 1
    grid.tile("door", canvas("door", 70))  # a stalled camera's redraw, too
    assert len(gui.shown) == count and np.array_equal(gui.last(), paused), "the picture moved while paused"
    assert not drawn, "paused, the grid does not ask for the overlay"
    gui.keys.append(ord(" "))  # while the cameras flow: no idle time to read the keys in
    feed(grid, clock, 0.2, shade=60)
    assert not grid.paused and not np.array_equal(gui.last(), paused)
    gui.keys.append(ord("q"))
    feed(grid, clock, 0.1)
    assert grid.stop_requested


def test_a_camera_that_ended_stays_greyed_and_says_so(gui: FakeGui, clock: Clock) -> None:
    grid = Grid(CAMERAS, clock=clock)
    feed(grid, clock, 0.1)
    clock.now += 1
    grid.end("door")
    door = gui.last()[cell_of(grid._layout, "door")][STRIP:]
    orange = (np.abs(door.astype(int) - (60, 170, 255)) <= 20).all(axis=2)
    assert orange.sum() > 20, "'ended' is written on it"
    grey = door[~orange]
    assert (np.ptp(grey.astype(int), axis=1) <= 40).mean() > 0.95, "the picture is grey"  # text edges aside
    yard = gui.last()[cell_of(grid._layout, "yard")][STRIP + 40, 40]
    assert tuple(yard) == COLORS["yard"], "the other cameras are untouched"


def test_windows_shows_each_camera_in_a_window_titled_with_its_name(gui: FakeGui, clock: Clock,
                                                                    tmp_path: Path) -> None:
    windows = Windows(CAMERAS, tmp_path, clock=clock)
    feed(windows, clock, 0.2)
    for camera in CAMERAS:
        assert np.array_equal(gui.last(camera), canvas(camera))
    assert len(set(gui.moved.values())) == 3, "opened where the grid's tiles would be, not on top of each other"
    gui.click("shop", 10, 10)
    gui.keys.append(ord("s"))
    feed(windows, clock, 0.1)
    assert [p.name.split("-")[2] for p in tmp_path.glob("*.png")] == ["shop"]
    assert (gui.last("shop")[:, :2] == FOCUS).all(axis=2).mean() > 0.9
    gui.click("shop", 10, 10)
    gui.keys.append(ord("s"))
    feed(windows, clock, 0.1)
    assert len(list(tmp_path.glob("*.png"))) == 4, "none focused: every camera saved"
    gui.closed.add("yard")
    feed(windows, clock, 0.1)
    assert windows.stop_requested, "closing one of the windows quits"


def test_a_display_that_fails_is_one_output_lost_not_a_crash(gui: FakeGui, clock: Clock,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    grid = Grid(CAMERAS, clock=clock)
    feed(grid, clock, 0.1)
    monkeypatch.setattr(cv2, "imshow", lambda *a: (_ for _ in ()).throw(cv2.error("the display is gone")))
    clock.now += 1
    grid.tile("door", canvas("door", 10))  # the main loop's redraw of a stalled camera: no exception
    assert "the display is gone" in grid.error
    warnings: list[str] = []
    sinks = Sinks([grid, FakeSink("JSON lines")], warnings.append)
    sinks.write(update("yard", 99, canvas("yard")))
    assert grid not in sinks.active and warnings == [f"grid window stopped: {grid.error}; the rest of the run goes on"]
    grid.end("shop")  # after that, nothing more happens


def test_keys_1_to_9_save_the_focused_cameras_raw_frame_not_the_next_camera_s(gui: FakeGui, clock: Clock,
                                                                            tmp_path: Path) -> None:
    grid = Grid(CAMERAS, clock=clock)
    sinks = Sinks([Collecting(Collector(tmp_path, ["cup"]), None, grid, lambda _: None), grid], lambda _: None)
    for camera in CAMERAS:
        clock.now += 1
        sinks.write(update(camera, 0, canvas(camera)))
    left, top = grid._layout.origin("shop")
    gui.click("live-classify", left + 40, top + 60)
    gui.keys.append(ord("1"))
    clock.now += 1
    sinks.write(update("door", 1, canvas("door")))  # reads the key
    for index, camera in enumerate(CAMERAS * 2, start=2):  # then each camera's next frame, in turn
        clock.now += 1
        sinks.write(update(camera, index, canvas(camera, 5)))
    (saved,) = (tmp_path / "cup").glob("*.png")
    assert np.array_equal(cv2.imread(str(saved)), canvas("shop", 5)), "shop's frame, and only one"


@pytest.mark.parametrize(("files", "warning"), [
    (1, "--windows does nothing with one camera (it has one window already)"),
    (2, "--windows does nothing without a window"),
])
def test_windows_flag_where_it_does_nothing_is_one_warning(video_file: Path, files: int, warning: str) -> None:
    sources = [arg for i in range(files) for arg in ("--source", str(video_file), "--name", f"clip{i}")]
    run = run_cli(*sources, "--windows", "--headless", "--jsonl", "-", "--provider", "cpu")
    assert run.returncode == 0, run.stderr
    assert run.stderr.count(warning) == 1 and "Traceback" not in run.stderr


def test_a_camera_not_reached_yet_says_so_in_its_tile_until_its_first_frame(gui: FakeGui, clock: Clock) -> None:
    why = {"door": "reconnecting: not reachable at the start: connection refused"}
    grid = Grid(CAMERAS, clock=clock, why_waiting=why.get)
    clock.now += 1
    grid.idle(lambda camera: None)  # no camera has sent a frame: each tile says why, if it knows

    def warned(camera: str) -> int:
        picture = gui.last()[cell_of(grid._layout, camera)][STRIP:]
        return int((np.abs(picture.astype(int) - (60, 170, 255)) <= 20).all(axis=2).sum())

    assert warned("door") > 20 and warned("yard") == 0  # the others just wait, in grey
    clock.now += 1
    grid.write(update("door", 0, canvas("door")))
    door = gui.last()[cell_of(grid._layout, "door")][STRIP + 40, 40]
    assert tuple(door) == COLORS["door"] and warned("door") == 0


def test_a_stalled_camera_s_tile_is_redrawn_saying_why_twice_a_second(gui: FakeGui, clock: Clock) -> None:
    """The run's one stale redraw reaches the grid through ``idle``: a camera whose redraw says why
    it is frozen gets that picture in its tile, at most every half second; the others keep theirs."""
    grid = Grid(CAMERAS, clock=clock)
    feed(grid, clock, 0.1)
    asked: list[str] = []

    def redraw(camera: str) -> np.ndarray | None:
        asked.append(camera)
        return canvas(camera, shade=30) if camera == "door" else None

    for step in (1.0, 0.1, 0.5):
        clock.now += step
        grid.idle(redraw)
    assert asked == CAMERAS + CAMERAS, "each camera asked at once, then not again before half a second"
    door = gui.last()[cell_of(grid._layout, "door")][STRIP + 40, 40]
    yard = gui.last()[cell_of(grid._layout, "yard")][STRIP + 40, 40]
    assert tuple(door) == tuple(c + 30 for c in COLORS["door"]) and tuple(yard) == COLORS["yard"]


def middle_colour(shown: np.ndarray, layout: Layout, camera: str) -> np.ndarray:
    cell = shown[cell_of(layout, camera)]
    middle = cell[STRIP + cell.shape[0] // 3 : -cell.shape[0] // 3, cell.shape[1] // 3 : -cell.shape[1] // 3]
    return middle.reshape(-1, 3).mean(axis=0)


def test_a_reload_adds_a_waiting_tile_and_takes_a_removed_one_away(gui: FakeGui, clock: Clock) -> None:
    grid = Grid(CAMERAS, clock=clock)
    feed(grid, clock, 0.2)
    grid.focus("yard")
    grid.set_cameras(["door", "shop", "gate"])  # yard removed, gate added
    clock.now += 1
    grid.idle(lambda camera: None)
    shown, layout = gui.last(), grid._layout
    assert layout.cameras == ("door", "shop", "gate") and grid.focused is None
    assert shown.shape[1::-1] == layout.size
    for camera in ("door", "shop"):
        assert np.abs(middle_colour(shown, layout, camera) - COLORS[camera]).max() < 3, camera
    assert not (shown == COLORS["yard"]).all(axis=2).any(), "the removed camera's picture is still shown"
    gate = shown[cell_of(layout, "gate")][STRIP:]
    assert (gate.min(axis=2) > 100).sum() > 30, "the new tile says it waits for its camera"
    clock.now += 1
    grid.tile("gate", canvas("yard"))  # its first frame
    assert np.abs(middle_colour(gui.last(), grid._layout, "gate") - COLORS["yard"]).max() < 3


def test_a_reload_closes_a_removed_cameras_window(gui: FakeGui, clock: Clock) -> None:
    windows = Windows(CAMERAS, clock=clock)
    feed(windows, clock, 0.2)
    windows.set_cameras(["door", "shop"])
    assert gui.destroyed == ["yard"] and list(windows.tiles) == ["door", "shop"]
