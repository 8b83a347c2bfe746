"""Hand-written mutations: put one plausible bug into ``src/`` at a time, run the tests named for it,
put the code back, and say whether the tests caught it.

    python tests/support/mutations.py                 # all of them (about an hour on 2 cores)
    python tests/support/mutations.py -k smooth -k fsync --list

A test suite that passes whatever the code does proves nothing; this shows, bug by bug, that the
tests named for a behaviour fail when the behaviour is broken. Each file is restored byte for byte,
with its old modification time, whatever happens (a failure, Ctrl+C, SIGTERM). Not collected by
pytest (no ``test_`` prefix). Add a mutation here with each behaviour worth protecting.
"""
from __future__ import annotations

import argparse
import ast
import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SRC = "src/live_classify/"
LIVE = "tests/e2e/test_live_cli.py::"
TRITON = "tests/e2e/test_triton.py::"
WEB_MANY = "tests/e2e/test_web_many.py::"
RESIZED = "tests/e2e/test_segments.py::test_a_camera_back_at_another_size_is_letterboxed_or_opens_a_segment"
NOTIFY = "tests/e2e/test_notify.py::"
MQTT = "tests/e2e/test_mqtt.py::"
WEB_AUTH = "tests/e2e/test_web_auth.py::"  # issue 25/26, web-auth
WEB_STATUS = "tests/unit/sinks/web/test_web_status.py::"  # issue 25/26, web-auth
WEB_LOGIN = "tests/e2e/test_web_login.py::"  # issue 24, login
WEB_SESSIONS = "tests/unit/sinks/web/test_web_sessions.py::"  # issue 24, login
RELOAD = "tests/e2e/test_reload.py::"
RELOAD_OUT = "tests/e2e/test_reload_outputs.py::"  # issue 22, reload2
TAUGHT = "tests/unit/engine/test_taught.py::"  # issue 36, teaching
TEACH = "tests/e2e/test_teach.py::"  # issue 36, teaching
INDEX_UNIT = "tests/unit/sinks/events/test_index_unit.py::"  # issue 33, hstore
LIVE_VIEW = "tests/e2e/test_live_view.py::"  # issue 37
ORACLE = "tests/e2e/test_reload_oracle.py::test_each_reload_of_the_table_ends_where_b_would_start"  # issue 31
SAYS = "tests/e2e/test_reload_says.py::"  # issue 31
CONFIG_UNIT = "tests/unit/cli/test_config_file.py::"  # issue 22, config-file
CONFIG_E2E = "tests/e2e/test_config_run.py::"  # issue 22, config-file
CAMERA = "tests/unit/pipeline/test_camera.py::"
EVENTS = "tests/e2e/test_events.py::"  # issue 23, events
EVENTS_RULES = "tests/unit/sinks/events/test_rules.py::"  # issue 23, events
EVENTS_UNIT = "tests/unit/sinks/events/test_event_outputs.py::"  # issue 23, events
CLIPS = "tests/e2e/test_clips.py::"  # issue 23, event clips
RING = "tests/unit/sinks/record/test_ring_unit.py::"  # issue 23, event clips
HISTORY = "tests/e2e/test_history_api.py::"  # issue 24, history
HISTORY_BROWSER = "tests/e2e/test_history_browser.py::"  # issue 24, history
GATE_UNIT = "tests/unit/pipeline/test_motion_gate.py::"  # issue 34, the motion gate
ROLES = "tests/unit/sinks/web/test_web_roles.py::"  # issue 36, users
USERS_E2E = "tests/e2e/test_web_users.py::"  # issue 36, users


@dataclass(frozen=True)
class Mutation:
    """Replace ``old`` with ``new`` where ``anchor`` says; ``tests`` must fail.

    ``anchor`` is a function's qualified name (``"Notifier._tick"``, ``"softmax"``), found wherever
    it lives under ``src/`` so that moving code between modules does not break the mutation, and
    ``old`` must occur exactly once in that function; or, for text outside any one function (a
    constant, a page's script, a twin copy whose name is not unique yet), a path from the root and
    ``old`` occurs exactly once in that file.
    """

    name: str
    anchor: str
    old: str
    new: str
    tests: tuple[str, ...]


MUTATIONS = [
    # The eight bugs no test caught (issue 17).
    Mutation("the camera ignores smoothing", "smoothing",
             "return partial(classifier.smoothed, smoother=Smoother(alpha)) if alpha < 1 else None", "return None",
             (CAMERA + "test_smoothing_is_applied_in_frame_order_across_workers",)),
    Mutation("the command ignores --smooth", "_member",
             "smoothed=smoothing(classifier, src.smooth),", "smoothed=None,",
             (LIVE + "test_smooth_flag_smooths_the_json_lines[1]",
              LIVE + "test_smooth_flag_smooths_the_json_lines[3]")),
    Mutation("every-frame mode loses one frame in 100", "Camera._hand_over",
             "        self.stats.captured += 1\n",
             "        self.stats.captured += 1\n"
             "        if self.flow is Flow.EVERY and self.stats.captured % 100 == 0:\n"
             "            return\n",
             (CAMERA + "test_every_frame_of_a_long_file_arrives_once_and_in_order",)),
    Mutation("the worker pool: the first lane to end ends them all", "Camera.next_for_inference",
             "            self._lanes_done.add(lane)\n",
             "            self._lanes_done.update(range(len(self._inboxes)))\n",
             (CAMERA + "test_a_worker_that_ends_first_does_not_end_the_others_lanes",)),
    Mutation("the recorder never fsyncs", "MjpegWriter._check_space", "        fsync_path(self.path)\n", "",
             ("tests/unit/sinks/test_sinks.py::test_the_recording_is_pushed_to_the_disk_while_it_runs",)),
    Mutation("predictions after the last shown frame are not written", "run",
             "                sinks.write_late(m.camera.leftover_predictions())\n",
             "                m.camera.leftover_predictions()\n",
             (LIVE + "test_realtime_file_plays_at_its_rate",
              "tests/e2e/test_many_cameras.py::test_every_prediction_of_two_realtime_files_is_written")),
    Mutation("the end of a live source replaces its last frame", "Camera._end_of_source",
             "put_blocking(self._inboxes[0], _END, self._stop)", "put_newest(self._inboxes[0], _END)",
             (CAMERA + "test_a_paced_file_that_ends_still_classifies_its_last_frame",)),
    Mutation("the validation split leaks a training image", "split_stratified",
             "train.extend(members[n_val:].tolist())", "train.extend(members[n_val - 1:].tolist())",
             ("tests/e2e/test_train.py::test_the_split_is_disjoint_complete_and_stratified",)),
    Mutation("recording at the stream's claimed rate", "recording",
             "fps = None if live else camera.source.claimed_fps", "fps = camera.source.claimed_fps",
             (LIVE + "test_live_stream_headless_with_recording_and_json_on_stdout",)),
    Mutation("a live rate measured with the opening burst", "MjpegWriter._open",
             "steady = times[times >= times[0] + self.MEASURE_S / 2]", "steady = times",
             ("tests/unit/sinks/test_sinks.py::test_a_live_recording_runs_at_the_rate_the_frames_came",)),
    Mutation("a file's JSON lines dropped like a camera's", "specs",
             "JsonlSpec(target, all(src.spec.live or src.realtime for src in sources),", "JsonlSpec(target, True,",
             ("tests/e2e/test_faults.py::test_a_slow_reader_of_a_file_s_json_lines_loses_none",)),
    Mutation("pause no longer freezes the picture", "Window.show",
             "shown = not (self.paused and self._frozen)", "shown = True",
             ("tests/e2e/test_window.py::test_the_window_shows_the_overlay_and_the_keys_work",)),
    # Assertions that could not fail for what they name (issue 17).
    Mutation("an RGB model fed BGR (no channel swap)", "Preprocessor._normalize",
             "            chw = chw[::-1]  # still a view\n", "            pass\n",
             ("tests/unit/engine/test_engine.py::test_the_engine_feeds_the_model_rgb_and_the_crop",)),
    Mutation("the model's color order ignored", "_preprocessing_from",
             'color_order=meta.get("color_order", "RGB").upper()', 'color_order="BGR"',
             ("tests/unit/engine/test_engine.py::test_the_engine_feeds_the_model_rgb_and_the_crop",)),
    Mutation("a usage error exits 0", "OneLineParser.error", "self.exit(2, ", "self.exit(0, ",
             ("tests/unit/cli/test_fuzz.py::test_any_flags_end_in_a_result_or_one_clean_error",)),
    Mutation("a user error exits 0", "exit_code",
             "        return 2 if isinstance(error, UsageError) else 1\n    except KeyboardInterrupt",
             "        return 0\n    except KeyboardInterrupt",
             ("tests/unit/cli/test_fuzz.py::test_any_flags_end_in_a_result_or_one_clean_error",)),
    Mutation("OpenCV's default 30 s read timeout", "VideoSource._open",
             "cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(self.read_timeout_s * 1000)",
             "cv2.CAP_PROP_READ_TIMEOUT_MSEC, 30000",
             (LIVE + "test_a_stalled_stream_that_never_returns_is_an_error_but_keeps_the_recording",)),
    Mutation("--realtime plays at twice the rate", "_member",
             "else source.claimed_fps or 30.0", "else (source.claimed_fps or 30.0) * 2",
             (LIVE + "test_realtime_file_plays_at_its_rate",
              "tests/e2e/test_many_cameras.py::test_every_prediction_of_two_realtime_files_is_written")),
    Mutation("a second Ctrl+C waits like the first", "stop_on_signals.handler",
             "if len(received) > 1:", "if len(received) > 2:",
             (LIVE + "test_a_second_ctrl_c_exits_at_once_and_the_recording_still_plays",)),
    # A few that were caught already, kept so they stay caught.
    Mutation("JSON lines truncate the file", "_open", 'path.open("a", encoding="utf-8")',
             'path.open("w", encoding="utf-8")', (LIVE + "test_json_lines_are_appended_never_truncated",)),
    Mutation("top-k in the wrong order", "top_k", "np.argsort(-probabilities[ids]",
             "np.argsort(probabilities[ids]", ("tests/unit/engine/test_postprocess.py",)),
    Mutation("a live camera's frames queued, not dropped", "Camera._hand_over",
             "self.stats.replaced += put_newest(self._inboxes[0], frame)",
             "put_blocking(self._inboxes[0], frame, self._stop)",
             (CAMERA + "test_a_slow_classifier_on_a_live_camera_drops_frames_instead_of_lagging",)),
    # The outputs (issue 9) and the GPU-first engine (issue 15).
    Mutation("a failing output stops the others", "Sinks._guarded",
             "        except Exception as error:  # noqa: BLE001 - isolate the failure to this output",
             "        except ZeroDivisionError as error:",
             ("tests/unit/sinks/test_sinks.py::test_a_failing_output_is_dropped_with_one_line_and_the_others_go_on",)),
    Mutation("the overlay drawn for every sink that asks", "Update.canvas", "    @cached_property", "    @property",
             ("tests/unit/sinks/test_sinks.py::test_the_overlay_is_drawn_once_a_frame_and_only_when_asked_for",)),
    Mutation("a live output's writer blocks the main loop", "BackgroundWriter.submit",
             "        if self._drop:", "        if False:",
             ("tests/unit/sinks/test_sinks.py::test_a_live_background_writer_drops_the_oldest_and_never_blocks",)),
    Mutation("the collector saves frames with the overlay", "specs",
             '        found[("collect",)] = CollectSpec()\n', "        pass\n",
             (LIVE + "test_collected_frames_are_raw_while_the_recording_is_annotated",)),
    Mutation("the MP4 ignores the disk reserve", "_Mp4.write",
             "        if self.keep and (full := self._space.check(self.path)):", "        if full := None:",
             ("tests/e2e/test_faults.py::test_a_full_disk_stops_the_recording_cleanly_and_classification_goes_on",)),
    Mutation("MP4 timestamps from a frame counter", "Mp4Writer.write",
             "pts = max(self._last_pts + 1, round((t_capture - self._t0) * 1000))",
             "pts = round(self.frames * 1000 / 30)",
             ("tests/e2e/test_mp4.py::test_a_burst_at_open_and_a_stall_keep_the_wall_clock_duration",)),
    Mutation("normalization on the device swaps the channels", "_normalize_parameters",
             'np.array([2, 1, 0] if pre.color_order == "RGB" else [0, 1, 2]',
             'np.array([0, 1, 2] if pre.color_order == "RGB" else [2, 1, 0]',
             ("tests/unit/engine/test_gpu_first.py::test_device_normalization_follows_the_models_recipe",)),
    Mutation("a model that cannot be captured leaves the GPU", "open_session",
             "            session, noise = _try_provider(model, provider, replace(options, cuda_graph=False))\n",
             "            pass\n",
             ("tests/unit/engine/test_gpu_first.py::test_a_model_that_cannot_be_captured_runs_on_cuda_without_the_graph",)),
    Mutation("a password shown in logs", "redact",
             'netloc = parts.netloc if password is None else f"{parts.username}:{MASK}@{host}"',
             "netloc = parts.netloc", ("tests/e2e/test_faults.py::test_credentials_never_reach_logs_json_or_errors",)),
    # Many cameras (issue 13).
    Mutation("the batcher always starts with the first camera", "Batcher.take",
             "self._next = (last + 1) % len(cameras)", "self._next = 0",
             ("tests/unit/pipeline/test_batching.py::test_no_frame_is_classified_twice_and_every_camera_gets_its_turn",)),
    Mutation("a batch waits far past --batch-wait for a slow camera", "Batcher.take",
             "deadline = now + self.wait_s", "deadline = now + self.wait_s * 10",
             ("tests/unit/pipeline/test_batching.py::test_a_slow_camera_does_not_hold_a_batch_past_the_wait_but_a_prompt_one_joins_it",)),
    Mutation("a camera lost for good ends the whole run", "_hand_to_sinks",
             "        _gone(member, cameras, window)\n",
             "        _gone(member, cameras, window)\n        cameras.stop()\n",
             ("tests/e2e/test_many_cameras.py::test_a_camera_lost_for_good_ends_alone_and_the_run_says_so",)),
    Mutation("a camera's recording takes every camera's frames", "OneCamera.write",
             "        if update.shown.frame.camera == self.camera:\n            self.sink.write(update)",
             "        self.sink.write(update)",
             ("tests/e2e/test_many_cameras.py::test_one_recording_per_camera_under_the_directory",)),
    Mutation("JSON lines name one camera for all", "JsonLines.record",
             "source = self.sources.get(camera, self.source_name)", "source = self.source_name",
             ("tests/e2e/test_many_cameras.py::test_each_camera_gets_its_own_label_and_name_from_one_batched_model",)),
    # MQTT over TLS, its backlog, several cameras (issue 12).
    Mutation("mqtts:// trusts any certificate", "MqttSink._client",
             "client.tls_set(ca_certs=str(self.config.ca) if self.config.ca else None)",
             "client.tls_set(ca_certs=str(self.config.ca) if self.config.ca else None, cert_reqs=ssl.CERT_NONE)",
             ("tests/e2e/test_mqtt_tls.py::test_a_certificate_not_to_trust_is_one_line_and_with_required_exit_1",)),
    Mutation("a full MQTT backlog drops the newest", "put_newest",
             "                q.get_nowait()\n                dropped += 1\n", "                return 1\n",
             ("tests/e2e/test_mqtt.py::test_a_broker_away_longer_than_the_backlog_loses_the_oldest_and_says_how_many",)),
    Mutation("the MQTT writer holds the oldest message while the broker is away", "MqttSink.__init__",
             "backlog=backlog, gate=self._sending)", "backlog=backlog)",
             ("tests/e2e/test_mqtt.py::test_a_broker_away_longer_than_the_backlog_loses_the_oldest_and_says_how_many",)),
    Mutation("at the end, each message for a broker away waits before it is counted", "MqttSink._publish",
             "        while not self._online.is_set():\n", "        while not self._online.wait(0.2):\n",
             ("tests/e2e/test_mqtt.py::test_what_waits_for_a_broker_that_never_comes_back_is_counted_as_dropped",)),
    Mutation("every camera's MQTT sink sees every camera's frames", "World.own",
             "several = self.reloadable or len(self.cameras.members) > 1", "several = False",
             ("tests/e2e/test_mqtt.py::test_two_cameras_each_publish_under_their_name_with_their_own_status_and_last_will",)),
    Mutation("web view: every camera's stream shows the first camera", "WebServer._channel",
             "        return channel\n",
             "        return next(iter(self._channels.values()))\n",
             (WEB_MANY + "test_each_camera_has_its_own_stream_and_only_watched_cameras_are_encoded",)),
    Mutation("web view: an unknown camera gets the first one's stream", "WebServer._channel",
             "        if (channel := self._channels.get(name)) is None:",
             "        if (channel := self._channels.get(name, next(iter(self._channels.values()))))"
             " is None:",
             (WEB_MANY + "test_each_camera_has_its_own_stream_and_only_watched_cameras_are_encoded",)),
    Mutation("web view: frames encoded for cameras nobody watches", "WebServer.wants_frames",
             "(channel.viewers > 0 or channel.snapshot_waiters > 0)",
             "(self.viewers > 0 or channel.snapshot_waiters > 0)",
             (WEB_MANY + "test_each_camera_has_its_own_stream_and_only_watched_cameras_are_encoded",)),
    Mutation("web view: only the first camera's predictions reach events and status", "WebView.write",
             "        if predictions:\n            feed.newest",
             "        if predictions and feed is self.feeds[0]:\n            feed.newest",
             (WEB_MANY + "test_status_events_and_metrics_carry_every_camera",)),
    Mutation("web view: metrics without the camera label", "WebServer.__init__",
             "Metrics(view.status, cameras if len(cameras) > 1 else None)", "Metrics(view.status, None)",
             (WEB_MANY + "test_status_events_and_metrics_carry_every_camera",)),
    Mutation("web view: /healthz looks at the first camera only", "WebView.health",
             "running = [name for name, camera in cameras.items() if not camera.ended]",
             "running = [self.feeds[0].name]",
             (WEB_MANY + "test_healthz_names_the_camera_that_stalls",)),
    Mutation("web view: a stalled camera's viewers get no frame saying so", "WebView.idle",
             "image = redraw(feed.name)", "image = redraw(self.feeds[0].name)",
             (WEB_MANY + "test_healthz_names_the_camera_that_stalls",)),
    Mutation("web view: the page shows the first camera only", SRC + "sinks/web/page/app.js",
             "if (cameras.length <= 1) {", "if (cameras.length <= 9) {",
             (WEB_MANY + "test_the_page_shows_one_tile_per_camera_in_a_real_browser",)),
    # Triton (issue 14).
    Mutation("triton: the server's shapes are not checked", "_Local.check",
             "        if not _fits(self.shape, tensor.shape):", "        if False:",
             (TRITON + "test_a_server_running_another_model_is_one_line",
              TRITON + "test_a_server_that_cannot_serve_our_model_is_one_line")),
    Mutation("triton: no timeout on gRPC requests", "_Connection._call",
             '            kwargs["client_timeout"] = self.timeout', "            pass",
             (TRITON + "test_a_server_that_cannot_serve_our_model_is_one_line",)),
    Mutation("triton: the server's scores come back in another order", "_Connection.infer",
             "return result.as_numpy(output_name).reshape(len(batch), -1)",
             "return result.as_numpy(output_name).reshape(len(batch), -1)[::-1]",
             (TRITON + "test_the_server_gives_the_local_answers_and_scores",)),
    Mutation("triton: without tritonclient, a traceback", "_client_module",
             '        raise LiveClassifyError(f"--backend over {protocol} needs {name}: {INSTALL_HINT}") from None',
             "        raise", (TRITON + "test_without_tritonclient_one_line_says_how_to_install_it",)),
    Mutation("triton: a server that is down ends the run", "Inference.classify",
             "        except BackendUnavailable as error:", "        except ZeroDivisionError as error:",
             (TRITON + "test_a_server_killed_mid_run_the_run_goes_on_and_classifies_again_when_it_is_back",)),
    Mutation("triton: one request per frame", "TritonBackend.infer",
             "        return self.run(self.batch_buffer(n))",
             "        return np.concatenate([self.run(row[None]) for row in self.batch_buffer(n)])",
             (TRITON + "test_several_cameras_go_to_the_server_in_one_request",)),
    Mutation("triton: the trace says I/O binding for a server", "as_trace",
             '(", I/O binding" if isinstance(backend, OnnxBackend) else "")', '", I/O binding"',
             (TRITON + "test_the_trace_names_the_server_and_local_engine_flags_are_said_to_do_nothing",)),
    Mutation("triton: --provider and the like silently ignored with --backend", "_backend",
             "        for unused in sorted(LOCAL_ENGINE_FLAGS & getattr(args, \"given\", frozenset())):",
             "        for unused in ():",
             (TRITON + "test_the_trace_names_the_server_and_local_engine_flags_are_said_to_do_nothing",)),
    Mutation("triton: --backend-timeout silently ignored without --backend", "_backend",
             'sorted({"backend_timeout", "backend_fallback"} & getattr(args, "given", frozenset()))', "()",
             (TRITON + "test_the_backend_flags_do_nothing_without_a_backend",)),
    Mutation("triton: the fallback never goes back to the server", "FallbackBackend.infer",
             "        if not self.falling_back or time.monotonic() >= self._next_try:",
             "        if not self.falling_back:",
             (TRITON + "test_the_fallback_classifies_here_while_the_server_is_down_and_goes_back",
              TRITON + "test_with_fallback_the_local_model_stands_in_while_the_server_is_down")),
    # issue 25/26, recording:
    Mutation("recording: os.access instead of a real try (root passes in /proc)", "check_writable",
             "    if problem := write_problem(path):\n",
             "    if not os.access(parent, os.W_OK) and (problem := \"permission denied\"):\n",
             ("tests/e2e/test_segments.py::test_bad_recording_flags_are_one_line",
              "tests/unit/sinks/test_sinks.py::test_checking_a_path_is_a_real_try_that_leaves_nothing_changed")),
    Mutation("recording: a --record DIR/ not tried before the source opens", "prepare",
             'if problem := write_problem(root / ".live-classify-probe"):', "if problem := None:",
             ("tests/e2e/test_segments.py::test_bad_recording_flags_are_one_line",)),
    Mutation("recording: a camera's folder keeps the stream's suffix", "camera_folder",
             'path = STREAM_SUFFIX.sub("", parts.path)', "path = parts.path",
             ("tests/e2e/test_segments.py::test_the_camera_folder_is_safe_and_never_holds_credentials",)),
    Mutation("mp4: a keyframe every 30 frames instead of every second", "Mp4Writer.write",
             "if pts / 1000 >= self._next_key:", "if self.frames % 30 == 0:",
             ("tests/e2e/test_mp4.py::test_a_keyframe_every_second_at_any_rate",)),
    Mutation("mp4: timestamps not forced to increase", "Mp4Writer.write",
             "pts = max(self._last_pts + 1, round((t_capture - self._t0) * 1000))",
             "pts = round((t_capture - self._t0) * 1000)",
             ("tests/e2e/test_mp4.py::test_frames_within_one_millisecond_are_all_recorded_in_order",)),
    Mutation("mp4: a camera back at another size stretched to the first", "Mp4Writer._fitted",
             "        return letterbox(bgr, *self.size)\n",
             "        import cv2\n        return cv2.resize(bgr, self.size)\n",
             ("tests/e2e/test_mp4.py::test_odd_sides_lose_a_pixel_and_another_size_is_letterboxed_in_one_line",
              RESIZED + "[out.mp4]")),
    Mutation("recording: an AVI stretches a camera back at another size", "MjpegWriter._fitted",
             "return letterbox(image, *target)", "return cv2.resize(image, target)", (RESIZED + "[out.avi]",)),
    Mutation("segments: a camera back at another size squeezed into the open segment", "SegmentedMp4.write",
             "        elif resized:\n", "        elif False:\n", (RESIZED + "[rec/]",)),
    Mutation("segments: a stall across boundaries is a gap", "SegmentedMp4._cross",
             "if self._last is None or t - self._last_t <= STALL_S:", "if True:",
             ("tests/e2e/test_segments.py::test_a_stall_across_boundaries_holds_the_last_frame_in_every_segment_it_spans",)),
    Mutation("segments: a short pause held as a stall", "SegmentedMp4._cross",
             "if self._last is None or t - self._last_t <= STALL_S:", "if self._last is None:",
             ("tests/e2e/test_segments.py::test_a_short_pause_across_a_boundary_holds_nothing",)),
    Mutation("segments: retention only as segments open and close", "SegmentedMp4.write",
             "        self._keep_under_limit()\n", "",
             ("tests/e2e/test_segments.py::test_retention_by_size_keeps_the_bytes_on_disk_under_the_limit_at_every_frame",)),
    Mutation("segments: retention leaves the open segment out of the total", "prune",
             "    total += open_bytes or 0\n", "",
             ("tests/e2e/test_segments.py::test_retention_by_size_keeps_the_bytes_on_disk_under_the_limit_at_every_frame",)),
    # issue 25/26, web-clients:
    Mutation("web clients: a viewer that reads nothing is never dropped", "Client._within",
             "await asyncio.wait_for(taken, DRAIN_TIMEOUT_S)",
             "await taken",
             ("tests/e2e/test_web_clients.py::test_viewers_that_read_nothing_neither_lock_out_a_real_one_nor_stay",)),
    Mutation("web clients: a full house never makes room for a newcomer", "Places.admit",
             "            if stalled.stalled_for(now) < EVICT_AFTER_S:", "            if True:",
             ("tests/e2e/test_web_clients.py::test_viewers_that_read_nothing_neither_lock_out_a_real_one_nor_stay",)),
    Mutation("web clients: event feeds take no place", "WebServer._events",
             "        queue: asyncio.Queue = asyncio.Queue(maxsize=EVENT_BACKLOG)\n",
             "        self.places.release(client)\n"
             "        queue: asyncio.Queue = asyncio.Queue(maxsize=EVENT_BACKLOG)\n",
             ("tests/e2e/test_web_clients.py::test_event_feeds_and_streams_share_the_places_and_a_full_house_says_when_to_retry",)),
    Mutation("web clients: a full house's 503 without Retry-After", "Places.full",
             'headers={"Retry-After": str(RETRY_AFTER_S)},', "",
             ("tests/e2e/test_web_clients.py::test_event_feeds_and_streams_share_the_places_and_a_full_house_says_when_to_retry",)),
    Mutation("web clients: idle connections never closed", "WebServer._serve",
             "handler_cancellation=True, keepalive_timeout=IDLE_TIMEOUT_S,", "handler_cancellation=True,",
             ("tests/e2e/test_web_clients.py::test_a_connection_without_a_request_is_closed_in_time",)),
    Mutation("web: an event queue never removed when its reader leaves", "WebServer._events",
             "            self._event_queues.discard(queue)\n", "",
             ("tests/e2e/test_web_clients.py::test_event_readers_that_come_and_go_leave_no_queue",)),
    Mutation("web: a full event queue raises instead of dropping the oldest", "queue_newest",
             "    if queue.full():\n        queue.get_nowait()\n", "",
             ("tests/e2e/test_web_clients.py::test_a_stalled_event_reader_costs_a_live_one_no_event_and_logs_nothing",)),
    Mutation("web: /snapshot.jpg stale once nobody watches", "WebServer._snapshot",
             "jpeg = channel.jpeg if channel.viewers else None", "jpeg = channel.jpeg",
             ("tests/e2e/test_web_clients.py::test_the_snapshot_is_fresh_after_the_last_viewer_left",)),
    # issue 25/26, notify-mqtt:
    Mutation("notify: a ping due between two frames is pushed back (issue 25.3)", "Notifier.idle",
             "        if self.ready:\n            self._tick(self._clock())\n",
             "        if self.ready and (now := self._clock()) >= self._next_ping:\n"
             "            self._send(\"STATUS=no frame for 0 s\")\n"
             "            self._next_ping = now + self.interval_s\n",
             (NOTIFY + "test_while_frames_arrive_pings_are_never_more_than_half_the_watchdog_apart",
              NOTIFY + "test_pings_come_on_time_from_a_slow_camera_never_replaced_by_a_status")),
    Mutation("notify: the watchdog pinged while reconnecting (issue 26.11)", "Notifier._tick",
             "if not run.reconnecting and quiet <= self.config.stall_s:",
             "if quiet <= self.config.stall_s:",
             (NOTIFY + "test_no_ping_while_reconnecting_even_before_the_read_timeout",
              NOTIFY + "test_no_ping_while_the_camera_is_stalled_or_reconnecting_and_pings_again_once_back")),
    Mutation("notify: the watchdog pinged however long no frame came", "Notifier._tick",
             "if not run.reconnecting and quiet <= self.config.stall_s:",
             "if not run.reconnecting:",
             (NOTIFY + "test_pings_stop_once_no_frame_came_for_longer_than_the_read_timeout"
                       "_and_resume_with_the_first_frame",)),
    Mutation("mqtt: the last will not retained (issue 26.8)", "MqttSink._client",
             "self._will(), qos=self.config.qos, retain=True)", "self._will(), qos=self.config.qos, retain=False)",
             (MQTT + "test_subscribers_joining_mid_run_get_online_and_after_kill_9_offline_both_retained",)),
    Mutation("mqtt: the last will with the start-of-run time and counters (issue 25.8)", "MqttSink._client",
             'client.will_set(f"{self.topic}/status", self._will(),',
             'client.will_set(f"{self.topic}/status", self._status("offline"),',
             (MQTT + "test_subscribers_joining_mid_run_get_online_and_after_kill_9_offline_both_retained",)),
    Mutation("mqtt: online not retained (issue 26.9)", "MqttSink._status_due",
             'self._status("online"), True, self.config.qos))',
             'self._status("online"), False, self.config.qos))',
             (MQTT + "test_subscribers_joining_mid_run_get_online_and_after_kill_9_offline_both_retained",)),
    Mutation("mqtt: --mqtt-qos ignored, always 1 (issue 26.10)", "MqttSink._publish",
             "self.client.publish(topic, payload, qos=qos, retain=retain)",
             "self.client.publish(topic, payload, qos=1, retain=retain)",
             (MQTT + "test_every_message_goes_at_the_qos_asked_for_the_last_will_too",)),
    Mutation("mqtt: the last will at QoS 1 whatever --mqtt-qos", "MqttSink._client",
             "self._will(), qos=self.config.qos, retain=True)", "self._will(), qos=1, retain=True)",
             (MQTT + "test_every_message_goes_at_the_qos_asked_for_the_last_will_too",)),
    Mutation("mqtt: a URL without a prefix is said to hold a wildcard (issue 25.12)", "broker_url",
             'raise bad("no topic prefix after the host")',
             'raise bad("the topic prefix cannot hold + or # (MQTT\'s wildcards)")',
             (MQTT + "test_a_bad_url_says_what_is_wrong_with_it",)),
    Mutation("mqtt: a lost broker reads paho's '(Unspecified error)' (issue 25.12)", "MqttSink._on_disconnect",
             "why = disconnect_reason(flags, reason_code)", "why = str(reason_code)",
             (MQTT + "test_publishing_resumes_after_the_broker_restarts",)),
    # issue 25/26, web-auth:
    Mutation("web auth: the page's script and style need the token", "PUBLIC",
             'PUBLIC = frozenset({"/healthz", "/app.js", "/style.css", "/history.js", "/history.css"})',
             'PUBLIC = frozenset({"/healthz"})',
             (WEB_AUTH + "test_the_page_with_a_token_in_chromium_is_styled_shows_the_picture_and_the_label",
              WEB_LOGIN + "test_a_person_logs_in_through_the_form_and_the_page_lives_on_the_cookie_alone")),
    Mutation("web auth: the page does not pass its token on", SRC + "sinks/web/page/app.js",
             "  if (token) query.set(\"token\", token);\n", "",
             (WEB_AUTH + "test_the_page_with_a_token_in_chromium_is_styled_shows_the_picture_and_the_label",)),
    Mutation("web auth: /metrics without the token", "Guard.middleware",
             "if request.path in PUBLIC:", 'if request.path in PUBLIC | {"/metrics"}:',
             (WEB_AUTH + "test_every_route_but_the_public_ones_needs_the_token",)),
    Mutation("web auth: 'bearer' in lower case refused", "carries",
             'scheme.lower() == "bearer"', 'scheme == "Bearer"',
             (WEB_AUTH + "test_every_route_but_the_public_ones_needs_the_token",)),
    Mutation("web auth: a token that is not UTF-8 is a 500 and a traceback", "same",
             '    try:\n        sent = given.encode("utf-8", "surrogateescape")  # as aiohttp decoded them\n'
             "    except UnicodeEncodeError:  # a lone surrogate (from a %-escape), not a byte sent\n"
             "        return False\n",
             "    sent = given.encode()\n",
             (WEB_AUTH + "test_bad_requests_are_a_4xx_and_one_line_at_most_never_the_token",)),
    Mutation("web auth: aiohttp logs bad requests itself (tracebacks, the token)", "WebServer._serve",
             "\n                                     logger=RequestLog(self._guard.token, self._guard.password))", ")",
             (WEB_AUTH + "test_bad_requests_are_a_4xx_and_one_line_at_most_never_the_token",)),
    Mutation("web auth: a bad request's line quotes the request", "RequestLog.log",
             "a malformed request ({type(error).__name__})", "a malformed request ({error})",
             (WEB_AUTH + "test_bad_requests_are_a_4xx_and_one_line_at_most_never_the_token",)),
    Mutation("web auth: a server failure's line keeps the token", "RequestLog._blanked",
             'text = text.replace(secret, "***")', "pass",
             (WEB_AUTH + "test_the_request_log_is_one_line_without_traceback_or_token",)),
    Mutation("web auth: beyond loopback without a token exits 1", "_check_exposed",
             'raise UsageError(f"--serve {where} listens', 'raise LiveClassifyError(f"--serve {where} listens',
             (WEB_AUTH + "test_beyond_loopback_without_a_token_is_a_refused_command_line",)),
    Mutation("web auth: --serve alone floods stdout with JSON lines", "jsonl_target",
             "shown = window or out.record or out.serve or", "shown = window or out.record or",
             (WEB_AUTH + "test_serve_alone_keeps_stdout_quiet",)),
    # issue 24, login:
    Mutation("web login: an asset served without auth (the stream)", "Guard.middleware",
             "if request.path in PUBLIC:", 'if request.path in PUBLIC | {"/stream.mjpg"}:',
             (WEB_AUTH + "test_every_route_but_the_public_ones_needs_the_token",)),
    Mutation("web login: the stream ignores the session cookie", "Guard.admits",
             "return self.sessions.valid(request.cookies.get(COOKIE))",
             'return request.path != "/stream.mjpg" and self.sessions.valid(request.cookies.get(COOKIE))',
             (WEB_LOGIN + "test_every_route_works_on_the_session_cookie_alone",
              WEB_LOGIN + "test_a_person_logs_in_through_the_form_and_the_page_lives_on_the_cookie_alone")),
    Mutation("web login: /metrics ignores the session cookie", "Guard.admits",
             "return self.sessions.valid(request.cookies.get(COOKIE))",
             'return request.path != "/metrics" and self.sessions.valid(request.cookies.get(COOKIE))',
             (WEB_LOGIN + "test_every_route_works_on_the_session_cookie_alone",)),
    Mutation("web login: the session cookie without HttpOnly", "Guard.open_session",
             "httponly=True,", "httponly=False,",
             (WEB_LOGIN + "test_the_session_cookie_its_flags_its_randomness_and_logout_ending_it",
              WEB_LOGIN + "test_a_person_logs_in_through_the_form_and_the_page_lives_on_the_cookie_alone")),
    Mutation("web login: the session cookie SameSite=Lax", "Guard.open_session",
             'samesite="Strict",', 'samesite="Lax",',
             (WEB_LOGIN + "test_the_session_cookie_its_flags_its_randomness_and_logout_ending_it",)),
    Mutation("web login: the session cookie never Secure behind HTTPS", "over_https",
             'return request.secure or forwarded == "https"', "return request.secure",
             (WEB_LOGIN + "test_the_session_cookie_its_flags_its_randomness_and_logout_ending_it",)),
    Mutation("web login: no rate limit on wrong logins", "Tries.wrong",
             "if len(times) >= TRIES:", "if False:",
             (WEB_LOGIN + "test_wrong_logins_from_an_address_are_answered_429_for_a_while",)),
    Mutation("web login: the session id predictable (a counter)", "Sessions.start",
             "session_id = secrets.token_urlsafe(32)", "session_id = str(len(self._expiry))",
             (WEB_LOGIN + "test_the_session_cookie_its_flags_its_randomness_and_logout_ending_it",)),
    Mutation("web login: the session id not checked on the server", "Sessions.valid",
             "return expiry is not None", "return True",
             (WEB_LOGIN + "test_the_session_cookie_its_flags_its_randomness_and_logout_ending_it",)),
    Mutation("web login: a session never expires", "Sessions.valid",
             "if expiry is not None and self._clock() >= expiry:", "if False:",
             (WEB_SESSIONS + "test_a_session_lasts_until_it_expires_or_ends",)),
    Mutation("web login: logging out leaves the session on", "logout",
             "guard.sessions.end(request.cookies.get(COOKIE))", "pass",
             (WEB_LOGIN + "test_the_session_cookie_its_flags_its_randomness_and_logout_ending_it",
              WEB_LOGIN + "test_a_person_logs_in_through_the_form_and_the_page_lives_on_the_cookie_alone")),
    Mutation("web login: the password works as a machine's token", "Guard.admits",
             "if self.token is not None and carries(request, self.token):",
             "if any(s is not None and carries(request, s) for s in (self.token, self.password)):",
             (WEB_LOGIN + "test_the_password_is_for_the_form_only_and_wrong_ones_get_the_form_again",)),
    Mutation("web login: a login goes on to another site", "local",
             'not then.startswith(("//", "/\\\\"))', "True",
             (WEB_SESSIONS + "test_a_login_goes_on_to_a_page_of_this_server_only",)),
    Mutation("web login: aiohttp's access log on (every URL, ?token= with it)", "WebServer._serve",
             "access_log=None,", 'access_log=__import__("aiohttp").log.access_logger,',
             (WEB_LOGIN + "test_no_request_is_written_to_a_log_with_its_token",)),
    Mutation("web login: /healthz tells a stranger why a camera is down", "WebServer._health",
             "reasons=request.get(TRUSTED, False)", "reasons=True",
             (WEB_LOGIN + "test_healthz_tells_a_stranger_only_up_or_down_and_the_cameras_names",)),
    Mutation("web login: a password alone cannot serve beyond loopback", "serve_config",
             "guarded = token or password  #", "guarded = token  #",
             (WEB_LOGIN + "test_a_password_alone_may_serve_beyond_loopback_and_a_missing_one_is_a_usage_error",)),
    Mutation("web login: a wrong login's line quotes what was typed", "login",
             'log.detail(f"web server: a wrong login from {address}")',
             'log.detail(f"web server: a wrong login from {address}: {given}")',
             (WEB_LOGIN + "test_wrong_logins_from_an_address_are_answered_429_for_a_while",)),
    Mutation("web status: dropped leaves out frames lost while the server was away", "Camera.snapshot",
             "dropped=stats.dropped,", "dropped=stats.replaced,",
             (WEB_STATUS + "test_dropped_counts_the_frames_lost_while_the_inference_server_was_away",)),
    Mutation("web status: the latency histogram fed milliseconds", "Metrics.observe",
             "histogram.observe(latency_ms / 1e3)", "histogram.observe(latency_ms)",
             (WEB_STATUS + "test_the_latency_histogram_is_in_seconds_in_the_right_buckets",)),
    Mutation("web status: the clock read before the newest frame's time", "WebView._camera_status",
             "        newest, camera = feed.newest, feed.status()\n        now = time.monotonic()\n",
             "        now = time.monotonic()\n        newest, camera = feed.newest, feed.status()\n",
             (WEB_STATUS + "test_the_last_frame_s_age_is_never_negative",)),
    # issue 25/26, cameras:
    Mutation("batching: ended cameras still count as open", "Batcher.take",
             "open_ = [c for c in cameras if not c.inference_done]", "open_ = list(cameras)",
             ("tests/unit/pipeline/test_batching.py::test_an_ended_camera_does_not_hold_a_batch_for_the_wait",)),
    # issue 33, items 7-11 (web and secrets):
    Mutation("a secret query value shown", "_masked_pair",
             'return f"{name}={MASK}" if equals and value and SECRET_QUERY.search(unquote_plus(name)) else pair',
             "return pair",
             ("tests/e2e/test_faults.py::test_secret_query_values_never_reach_the_check_the_log_the_status_or_json_lines",)),
    Mutation("web: loopback without a login answers any Host", "Hosts.allows",
             "        if self.open:\n", "        if True:\n",
             (WEB_AUTH + "test_loopback_without_a_login_answers_only_its_own_names_against_dns_rebinding",)),
    Mutation("web login: no limit over all addresses", "Tries.wrong",
             'self._all_locked, locks = now + ALL_LOCKOUT_S, "all"', 'locks = "all"',
             (WEB_LOGIN + "test_guesses_from_many_addresses_are_answered_429_for_everyone_for_a_while",
              WEB_SESSIONS + "test_wrong_tries_from_many_addresses_lock_the_form_for_everyone_for_a_while")),
    Mutation("web login: a locked address forgotten with the table", "Tries.wrong",
             "            self._wrong.popitem(last=False)\n",
             "            forgotten, _ = self._wrong.popitem(last=False)\n"
             "            self._locked.pop(forgotten, None)\n",
             (WEB_SESSIONS + "test_a_locked_address_stays_locked_however_many_others_try_until_its_lock_ends",)),
    Mutation("web clients: an event feed keeps the kernel's big send buffer", "WebServer._events",
             "        client.hold_little()\n", "",
             ("tests/e2e/test_web_clients.py::test_event_feeds_that_read_nothing_neither_lock_out_a_viewer_nor_stay",)),
    Mutation("web: a tab opened with ?token= keeps it in its address", "Guard.middleware",
             "        if (visit := self.token_visit(request)) is not None:\n            return visit\n", "",
             (WEB_LOGIN + "test_a_page_opened_with_the_token_becomes_a_session_and_loses_the_token_from_its_address",
              WEB_AUTH + "test_the_page_with_a_token_in_chromium_is_styled_shows_the_picture_and_the_label")),
    Mutation("web: a ?token= visit redirected in a frame of another site", "Guard.token_visit",
             'page = fetch == "document" if fetch', 'page = fetch in ("document", "iframe") if fetch',
             (WEB_LOGIN + "test_a_page_opened_with_the_token_becomes_a_session_and_loses_the_token_from_its_address",
              WEB_AUTH + "test_the_page_with_a_token_in_chromium_is_styled_shows_the_picture_and_the_label")),
    Mutation("web login: a form from another site accepted", "from_here",
             'return scheme in ("http", "https") and netloc in hosts - {""}', "return True",
             (WEB_LOGIN + "test_a_login_or_logout_form_from_another_site_is_refused",)),
    Mutation("web: no Referrer-Policy", "_no_referrer_beyond",
             'response.headers["Referrer-Policy"] = "same-origin"', "pass",
             (WEB_LOGIN + "test_a_page_opened_with_the_token_becomes_a_session_and_loses_the_token_from_its_address",)),
    Mutation("a secret file every user can read, not said", "exposed",
             "    if not mode & stat.S_IROTH:\n", "    if True:\n",
             ("tests/e2e/test_config_run.py::test_secret_files_every_user_can_read_are_warned_of_in_check_and_at_start",)),
    Mutation("history: a name too long for the disk is a 500", "locate",
             "    except OSError:", "    except ValueError:",
             (HISTORY + "test_a_name_too_long_for_the_disk_is_a_404_of_one_line",)),
    Mutation("history: an export over a missing segment fails", "cut",
             "                    skipped.append(path.name)", "                    raise OSError(str(error))",
             (HISTORY + "test_an_export_over_missing_or_damaged_segments_leaves_them_out_and_says_so",)),
    Mutation("camera: each reopening starts a new streak", "Camera._reconnect",
             "            if self.source.reopen():\n",
             "            if self.source.reopen():\n                self._streak.end()\n",
             (CAMERA + "test_a_camera_that_connects_and_sends_nothing_readable_fails_one_streak",
              "tests/e2e/test_faults.py::test_a_camera_that_answers_but_never_sends_a_picture_is_given_up_after_its_reconnects")),
    Mutation("diagnosis: a trickling server holds it", "_ask",
             "(left := deadline - time.monotonic()) > 0", "(left := 3.0) > 0",
             ("tests/unit/sources/test_diagnose.py::test_a_server_that_trickles_an_endless_answer_is_given_up_at_the_timeout",)),
    Mutation("batching: a camera takes two places in one batch", "Batcher._collect",
             "            if id(camera) in taken:\n                continue\n", "",
             ("tests/unit/pipeline/test_batching.py::test_a_camera_never_takes_two_places_in_one_batch",)),
    Mutation("camera: reconnect backoff without its 5 s cap", "Streak.next_wait",
             "min(MAX_DELAY_S, self._delay * 2)", "self._delay * 2",
             ("tests/unit/pipeline/test_camera.py::test_reconnect_waits_grow_but_never_past_five_seconds",)),
    Mutation("a camera unreachable at the start ends the whole run", "open_or_absent",
             "        if not src.spec.live:\n            raise\n", "        raise\n",
             ("tests/e2e/test_many_cameras.py::test_a_camera_unreachable_at_the_start_is_retried_while_the_others_run",)),
    Mutation("a camera not reached yet: its tile just waits", "picture",
             "(tile.note, overlay.WARN) if tile.note else", "(tile.note, overlay.WARN) if False else",
             ("tests/e2e/test_grid.py::test_a_camera_not_reached_yet_says_so_in_its_tile_until_its_first_frame",)),
    Mutation("a main loop that falls behind shows the oldest frame waiting", "Camera.poll",
             "            item = self._newest(item)\n", "            pass\n",
             ("tests/unit/pipeline/test_camera.py::test_a_main_loop_that_falls_behind_shows_the_newest_frame_and_the_recording"
              "_counts_the_rest",)),
    Mutation("the recording does not count the frames the main loop skipped", "Recording.close",
             "self.skipped = max(0, self._captured() - self.handed)", "self.skipped = 0",
             ("tests/unit/pipeline/test_camera.py::test_a_main_loop_that_falls_behind_shows_the_newest_frame_and_the_recording"
              "_counts_the_rest",)),
    Mutation("several cameras' MQTT sinks lose --min-confidence", "specs",
             "MqttSpec(out.mqtt, src.name, src.spec.name, src.min_confidence, labels)",
             "MqttSpec(out.mqtt, src.name, src.spec.name, None, labels)",
             ("tests/e2e/test_many_cameras.py::test_each_camera_s_mqtt_messages_keep_min_confidence",)),
    # issue 21: one run for one camera or many.
    Mutation("notify: one camera reconnecting stops the pings of all", "RunStatus.reconnecting",
             "all(c.reconnecting for c in running)", "any(c.reconnecting for c in running)",
             ("tests/unit/sinks/test_notify_unit.py::test_with_several_cameras_one_healthy_camera_keeps_the_watchdog_fed",)),
    Mutation("the stale redraw: a stall without a reconnect is never said", "Annotator.stale",
             "if status.reconnecting or quiet > STALE_S:", "if status.reconnecting:",
             ("tests/unit/app/test_annotate.py::test_a_live_camera_quiet_for_longer_than_a_second_is_redrawn_saying_so",)),
    Mutation("the window never redraws a frozen picture", "Window.idle",
             "image = redraw(self.camera) if self.camera is not None else None", "image = None",
             ("tests/e2e/test_window.py::test_a_stalled_stream_is_shown_as_such_and_the_window_lives_through_the_reconnect",)),
    Mutation("the grid never redraws a stalled camera's tile", "Grid.idle",
             "elif tile.canvas is not None and (canvas := redraw(camera)) is not None:", "elif False:",
             ("tests/e2e/test_grid.py::test_a_stalled_camera_s_tile_is_redrawn_saying_why_twice_a_second",)),
    Mutation("--record DIR/: the directory itself taken for the file", "recording_path",
             'return path / f"{name}.mp4" if record.is_directory(path) and not segmented else path', "return path",
             (LIVE + "test_record_into_a_directory_writes_the_cameras_own_file_there",
              "tests/e2e/test_many_cameras.py::test_one_recording_per_camera_under_the_directory")),
    Mutation("a batch waits for every open camera, a stalled one too", "Batcher.take",
             "            if deadline is not None and now >= deadline:\n                break\n", "",
             ("tests/e2e/test_many_cameras.py::test_a_stalled_camera_reconnects_while_the_others_keep_classifying",)),
    Mutation("the MQTT status does not say a camera reconnects", "MqttSink._status",
             '"reconnecting": camera.reconnecting, ', "",
             ("tests/e2e/test_many_cameras.py::test_the_mqtt_status_of_a_camera_not_reached_yet_says_it_reconnects",)),
    # issue 25/26, engine-cli:
    Mutation("fallback: the retry interval without its cap", "FallbackBackend._server_down",
             "min(LAST_RETRY_S, self._retry_s * 2)", "self._retry_s * 2",
             (TRITON + "test_the_fallbacks_retry_interval_grows_to_five_seconds_and_no_further",)),
    Mutation("fallback: the retry interval not reset when the server answers", "FallbackBackend._server_back",
             "            self._retry_s = 0.0\n", "",
             (TRITON + "test_once_the_server_answers_again_it_is_said_once_and_the_backoff_starts_over",)),
    Mutation("triton: gRPC's own reconnect backoff (up to 120 s)", "_CHANNEL_ARGS",
             '    ("grpc.max_reconnect_backoff_ms", 1000),\n', "",
             (TRITON + "test_a_server_back_after_a_long_outage_classifies_again_within_seconds",)),
    Mutation("train: the standardization fitted on train + validation", "train_head",
             "scale = _Standardization.of(x_train)", "scale = _Standardization.of(np.concatenate([x_train, x_val]))",
             ("tests/e2e/test_train.py::test_the_standardization_is_fitted_on_exactly_the_training_rows",)),
    Mutation("stats: every latency of the run kept (memory grows)", "Stats",
             "deque(maxlen=RECENT_LATENCIES)", "deque(maxlen=100_000)",
             ("tests/unit/pipeline/test_stats.py::test_memory_stays_flat_however_many_frames_are_classified",)),
    Mutation("stats: a percentile between two values not interpolated", "LatencyHistogram.percentile",
             "return first + (rank - below) * (second - first)", "return first",
             ("tests/unit/pipeline/test_stats.py::test_the_histograms_percentiles_match_numpys_within_a_bucket",)),
    Mutation("stats: the summary from the newest latencies only", "Stats.latency_percentile",
             "return self.latency_histogram.percentile(q)",
             "return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms else None",
             ("tests/unit/pipeline/test_stats.py::test_the_summary_gives_the_whole_runs_p50_and_p95",)),
    Mutation("cli: the top-k note on every run of a small model", "open_classifier",
             "if top_k_given and args.top_k >", "if args.top_k >",
             ("tests/e2e/test_cli_usage.py::test_the_top_k_note_comes_only_when_top_k_was_given",)),
    Mutation("cli: --trace --json drops the trace silently", "_result_flags",
             "photos = out.add_mutually_exclusive_group()", "photos = out",
             ("tests/e2e/test_cli_usage.py::test_trace_and_json_together_are_a_bad_command_line",)),
    Mutation("cli: --help without the exit codes", "epilog",
             'return f"{KEYS}\\n\\nexit codes:\\n{codes}\\n\\n{EXAMPLES}"', 'return f"{KEYS}\\n\\n{EXAMPLES}"',
             ("tests/e2e/test_cli_usage.py::test_help_lists_the_exit_codes_the_command_returns_and_examples_that_parse",)),
    Mutation("cli: an example in --help that the command refuses", "EXAMPLES",
             "--source 'shots/*.jpg' --json", "--source shots/ --json",
             ("tests/e2e/test_cli_usage.py::test_help_lists_the_exit_codes_the_command_returns_and_examples_that_parse",)),
    Mutation("deploy: the unit's documentation is a file pip never installs", "deploy/live-classify.service",
             "[Unit]\n", "[Unit]\nDocumentation=file:///opt/live-classify/README.md\n",
             ("tests/e2e/test_deploy.py::test_the_units_documentation_names_only_what_an_install_has",)),
    Mutation("triton harness: a restart returns on the first start's 'ready'", "tests/support/triton_env.py",
             'with open(self.log, "w") as out:', 'with open(self.log, "a") as out:',
             (TRITON + "test_a_server_killed_mid_run_the_run_goes_on_and_classifies_again_when_it_is_back",)),
    # The lead's, with the test made independent of the machine's speed:
    Mutation("mqtt: --mqtt-on-change publishes every classification", "MqttSink._wanted",
             "(self.config.on_change and label == self._last_label) or now", "now",
             (MQTT + "test_every_and_on_change_limit_the_prediction_messages",)),
    # issue 22, config-file: --config box.toml and --check.
    Mutation("config-file: --check prints a URL's password", "_masked",
             "        return redact(value)\n", "        return value\n",
             (CONFIG_UNIT + "test_check_hides_a_url_password_by_itself",)),
    Mutation("config-file: --check without its last guard against known secrets", "_table",
             "text = text if text is None else scrub(text, secrets)", "text = text",
             (CONFIG_UNIT + "test_check_scrubs_every_known_secret_wherever_it_shows",)),
    Mutation("config-file: a repeated or exclusive flag no longer overrides the file", "resolve",
             "top = [entry for entry in top if entry.dest not in overridden]", "top = list(top)",
             (CONFIG_UNIT + "test_a_flag_replaces_a_repeated_key_and_excludes_its_rival",)),
    Mutation("config-file: a flag over a per-camera key still warns that the cameras differ", "resolve",
             "owns = [[entry for entry in own if entry.dest not in overridden] for _, own in cameras]",
             "owns = [own for _, own in cameras]",
             (CONFIG_UNIT + "test_a_flag_beats_the_camera_which_beats_the_top_level_which_beats_the_default",)),
    Mutation("config-file: the run drops the per-camera keys every camera agrees on", "_add_cameras",
             "config.argv = [*base, *_tokens(agreed), *_tokens(every_input), *argv]",
             "config.argv = [*base, *_tokens(every_input), *argv]",
             (CONFIG_E2E + "test_a_run_from_the_file_writes_what_the_flags_would",)),
    Mutation("config-file: line numbers off by one", "scan_lines",
             "enumerate(text.splitlines(), start=1)", "enumerate(text.splitlines(), start=0)",
             (CONFIG_UNIT + "test_an_unknown_key_names_its_line_and_the_near_miss",)),
    Mutation("config-file: a camera's keys given the line of the next camera", "scan_lines",
             "table = len(lines.cameras) - 1", "table = len(lines.cameras)",
             (CONFIG_UNIT + "test_an_unknown_key_names_its_line_and_the_near_miss",)),
    Mutation("config-file: an unset ${VAR} is empty", "expand",
             "        if match[1] not in environ:\n", "        if False:\n",
             (CONFIG_UNIT + "test_variables_come_from_the_environment",)),
    Mutation("config-file: --check shows a camera's own key losing to the top level", "shown_camera",
             "_layered(config, key, own, config.top)", "_layered(config, key, config.top, own)",
             (CONFIG_UNIT + "test_a_flag_beats_the_camera_which_beats_the_top_level_which_beats_the_default",)),
    Mutation("config-file: a camera runs without its own keys", "_add_cameras",
             "[*given, *own], argv)", "[*given], argv)",
             (CONFIG_UNIT + "test_a_flag_beats_the_camera_which_beats_the_top_level_which_beats_the_default",)),
    # Issue 21, layers: a bug in an output shows its traceback under --verbose; argparse stays in cli/.
    Mutation("layers: a failing output hides its traceback under --verbose", "Sinks._guarded",
             '            log.debug_traceback(f"{sink.name} failed", error)\n', "",
             ("tests/e2e/test_tracebacks.py::test_a_bug_in_an_output_is_one_line_and_its_traceback_with_verbose",)),
    Mutation("layers: a failing writer thread hides its traceback under --verbose", "BackgroundWriter._run",
             '                log.debug_traceback(f"{self._thread.name} thread failed", error)\n', "",
             ("tests/e2e/test_tracebacks.py::test_a_bug_in_an_output_is_one_line_and_its_traceback_with_verbose",)),
    Mutation("layers: the traceback shown without --verbose", "debug_traceback",
             "    if verbose():  # formatting a traceback is not free: only when it is shown\n"
             "        lines = traceback.format_exception(type(error), error, error.__traceback__)\n"
             "        LOGGER.debug(",
             "    if True:\n"
             "        lines = traceback.format_exception(type(error), error, error.__traceback__)\n"
             "        LOGGER.warning(",
             ("tests/e2e/test_tracebacks.py::test_a_bug_in_an_output_is_one_line_and_its_traceback_with_verbose",)),
    Mutation("layers: a bad --mqtt URL is a traceback, not exit 2", "_usage",
             "        except BadValue as error:", "        except LookupError as error:",
             ("tests/e2e/test_mqtt.py::test_a_bad_url_is_one_line_and_exit_2",)),
    # issue 23, events: the rules, the outputs that tell of them, the index.
    Mutation("events: an event flaps on a one-frame dip", "Tracker.observe",
             "            elif watch.event is None:\n",
             "            elif watch.event is not None:\n                changes.append(self._end(watch))\n"
             "            else:\n",
             (EVENTS_RULES + "test_a_one_frame_dip_does_not_end_it_no_flapping",
              EVENTS + "test_one_event_per_espresso_phase_in_the_json_lines_and_the_index")),
    Mutation("events: the start is not back-dated to the first frame", "Tracker._present",
             "label, watch.first.wall, None,", "label, seen.wall, None,",
             (EVENTS_RULES + "test_an_event_starts_after_the_hold_back_dated_to_its_first_frame",
              EVENTS + "test_one_event_per_espresso_phase_in_the_json_lines_and_the_index")),
    Mutation("events: an event per frame", "Tracker._present",
             "                                  source_best=watch.best.t)\n            return []\n",
             "                                  source_best=watch.best.t)\n"
             "            return [Change(START, watch.event)]\n",
             (EVENTS_RULES + "test_it_ends_after_the_gap_at_the_last_frame_seen",
              EVENTS + "test_one_event_per_espresso_phase_in_the_json_lines_and_the_index")),
    Mutation("events: the webhook's POST on the main loop", "Webhooks.write_event",
             "            receiver.writer.submit(body)", "            receiver._deliver(body)",
             (EVENTS_UNIT + "test_webhooks_never_wait_on_the_main_loop_and_drop_the_oldest_beyond_the_backlog",)),
    Mutation("events: the MQTT events message retained", "event_messages",
             "ensure_ascii=False), False, EVENTS_QOS)", "ensure_ascii=False), True, EVENTS_QOS)",
             (EVENTS_UNIT + "test_mqtt_messages_events_not_retained_states_retained_topic_safe",
              EVENTS + "test_mqtt_events_states_and_home_assistant_discovery")),
    Mutation("events: SSE events look like predictions", "WebServer.event",
             'f"event: event\\ndata: {', 'f"data: {',
             (EVENTS + "test_sse_carries_each_start_and_end_as_a_message_named_event",)),
    Mutation("events: the index's rows wait in a transaction a kill loses", "connect",
             "check_same_thread=False, isolation_level=None)", "check_same_thread=False)",
             (EVENTS_UNIT + "test_the_index_writes_events_seconds_and_segments",
              EVENTS + "test_the_index_keeps_what_was_committed_through_a_sigkill")),
    Mutation("events: the index is not told of a closed segment", "SegmentedMp4._finish",
             "        if self._log is not None:\n", "        if False:\n",
             (EVENTS + "test_one_event_per_espresso_phase_in_the_json_lines_and_the_index",)),
    # issue 23, event clips: the pre-roll ring, the clips, their index rows, retention, the rebuild.
    Mutation("clips: no pre-roll", "Clips._start",
             "self.ring.since(event.source_start - self.plan.pre_roll_s)", "self.ring.since(event.source_start)",
             (CLIPS + "test_a_clip_per_espresso_phase_from_its_pre_roll_to_its_post_roll",)),
    Mutation("clips: the ring spans the pre-roll but not the hold (the pre-roll cut short)", "clip_plan",
             "rec.pre_roll_s + hold_s + RING_SLACK_S", "rec.pre_roll_s",
             (CLIPS + "test_a_clip_per_espresso_phase_from_its_pre_roll_to_its_post_roll",)),
    Mutation("clips: a clip starts at a non-keyframe", "Ring.since",
             "        return [packet for group in groups[first:] for packet in group]",
             "        return [packet for group in groups for packet in group if packet.t >= t]",
             (RING + "test_a_clip_starts_at_the_last_keyframe_at_or_before_the_time_asked",
              CLIPS + "test_a_clip_per_espresso_phase_from_its_pre_roll_to_its_post_roll")),
    Mutation("clips: the ring unbounded", "Ring._trim",
             "        while len(self._groups) > 1 and", "        while False and len(self._groups) > 1 and",
             (RING + "test_the_ring_keeps_the_span_and_a_group_more_never_the_whole_stream",
              RING + "test_its_bytes_are_capped_whatever_the_span")),
    Mutation("clips: encoded a second time (their own encoder, same settings)", "Recording.__init__",
             'log_to=index,\n'
             '                                                                         tap=tap)\n'
             '        elif path.suffix.lower() == ".mp4" or not continuous:\n'
             '            self._video = _Mp4(path, settings, tap, keep=continuous)\n'
             '        else:\n'
             '            self._video = MjpegWriter(path, fps, log.warning)\n'
             '        self.path = self._video.path\n'
             '        self._writer: BackgroundWriter[tuple[np.ndarray, float]] = BackgroundWriter(\n'
             '            "record", lambda item: self._video.write(*item)',
             'log_to=index)\n'
             '        elif path.suffix.lower() == ".mp4" or not continuous:\n'
             '            self._video = _Mp4(path, settings, tap, keep=continuous)\n'
             '        else:\n'
             '            self._video = MjpegWriter(path, fps, log.warning)\n'
             '        self.path = self._video.path\n'
             '        second = _Mp4(path, settings, tap, keep=False)\n'
             '        self._writer: BackgroundWriter[tuple[np.ndarray, float]] = BackgroundWriter(\n'
             '            "record", lambda item: (self._video.write(*item), second.write(*item))',
             (CLIPS + "test_both_clips_are_the_segments_own_packets_remuxed",)),
    Mutation("clips: a plain MP4, unplayable after a kill", "Clip.__init__",
             'format="mp4", options=MUXER_OPTIONS)', 'format="mp4")',
             (CLIPS + "test_a_sigkill_mid_event_leaves_a_playable_clip_and_its_index_row",)),
    Mutation("clips: the index row gets its clip only at the event's end (missing after a kill)", "Index.write_event",
             "e.score, e.clip,", "e.score, e.clip if e.end else None,",
             (CLIPS + "test_a_sigkill_mid_event_leaves_a_playable_clip_and_its_index_row",)),
    Mutation("clips: --retain-events deletes the files but not the rows", "prune_clips",
             "    if deleted and log_to is not None:", "    if False:",
             (CLIPS + "test_retain_events_deletes_old_clips_and_their_rows_never_segments",)),
    Mutation("clips: an event's end names another clip than its start", "ClipNames.__call__",
             "clip = self._given.get(event.id) or self._new(event)", "clip = self._new(event)",
             ("tests/unit/sinks/record/test_clip_names_unit.py::"
              "test_an_event_has_its_clip_and_thumbnail_from_its_start_to_its_end",
              CLIPS + "test_a_clip_per_espresso_phase_from_its_pre_roll_to_its_post_roll")),
    Mutation("clips: the rebuild forgets the clips' events", "rebuild",
             "for row in map(lambda clip: event_row(clip, root), clip_files(camera)) if row is not None]",
             "for row in [] if row is not None]",
             (CLIPS + "test_a_clip_per_espresso_phase_from_its_pre_roll_to_its_post_roll",
              CLIPS + "test_a_sigkill_mid_event_leaves_a_playable_clip_and_its_index_row")),
    # issue 22, reload:
    Mutation("reload: every camera's JSON lines take the top level's min-confidence", "JsonLines.record",
             "self.thresholds.get(camera, self.min_confidence)", "self.min_confidence",
             ("tests/e2e/test_config_run.py::test_each_camera_runs_with_its_own_keys",)),
    Mutation("reload: a camera's own record key ignored", "source_config",
             "record=record_config(args), min_confidence=args.min_confidence,",
             "record=None, min_confidence=args.min_confidence,",
             ("tests/e2e/test_config_run.py::test_each_camera_runs_with_its_own_keys",)),
    Mutation("reload: every camera restarts on every reload", "CameraSpec.same_capture",
             "return self.source == other.source", "return False",
             (RELOAD + "test_a_reload_ends_starts_and_leaves_the_untouched_camera_alone",)),
    Mutation("reload: a new model loaded but never swapped in", "Reloader._apply",
             "            world.cameras.swap_model(plan.classifier)\n", "",
             (RELOAD + "test_watch_model_takes_up_the_model_file_replaced_on_disk",)),
    Mutation("reload: the new model loaded but never taken up by the batcher", "Batcher._take_up",
             "self.classifier = self._inference.classifier = classifier", "self.classifier = classifier",
             (RELOAD + "test_watch_model_takes_up_the_model_file_replaced_on_disk",)),
    Mutation("reload: SIGHUP with --config still stops the run", "stop_on_signals.handler",
             "            reloader.requested.set()\n            return\n", "            reloader.requested.set()\n",
             (RELOAD + "test_a_reload_ends_starts_and_leaves_the_untouched_camera_alone",)),
    Mutation("reload: SIGHUP without --config rereads nothing and never stops", "stop_on_signals.handler",
             "if reloader is not None and signum ==", "if signum ==",
             (RELOAD + "test_sighup_without_config_is_a_clean_stop",)),
    Mutation("reload: a removed camera's recording and MQTT go on", "reconcile",
             "        gone += [part.sink] if part.sink is not None else []\n", "",
             (RELOAD + "test_a_removed_camera_ends_its_recording_and_says_offline",)),
    Mutation("reload: the model file's replacement never noticed", "watch.loop",
             "if now is not None and now != last:", "if now is None:",
             (RELOAD + "test_watch_model_takes_up_the_model_file_replaced_on_disk",)),
    Mutation("reload: RELOADING=1 without the monotonic clock", "Notifier.reloading",
             '\\nMONOTONIC_USEC={time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000}', "",
             ("tests/unit/sinks/test_notify_unit.py::test_a_reload_says_reloading_with_the_monotonic_clock_then_ready",)),
    Mutation("reload: a camera's new recording folder ignored", "reconcile",
             "if old[key] == new[key] or running.reconfigure(new[key]):",
             "if old[key] == new[key] or key[0] == 'record' or running.reconfigure(new[key]):",
             (RELOAD + "test_a_removed_camera_ends_its_recording_and_says_offline", ORACLE)),
    Mutation("reload: a camera's new threshold never reaches its MQTT messages", "MqttSink.reconfigure",
             "        self.min_confidence = min_confidence\n", "",
             (RELOAD + "test_a_removed_camera_ends_its_recording_and_says_offline", ORACLE)),
    Mutation("reload: a new recording restarts the camera", "CameraSpec.of",
             "replace(src, record=None, events=None, **kept)", "replace(src, events=None, **kept)",
             (RELOAD + "test_a_removed_camera_ends_its_recording_and_says_offline",)),
    Mutation("reload: /api/status keeps the first configuration", "rereader.reread",
             "return replace(new, shown=render(config))", "return new",
             (RELOAD + "test_the_status_shows_the_running_configuration_masked_and_when_it_was_loaded",)),
    # issue 22, reload2:
    Mutation("reload: a changed --serve never rebuilds the web server", "WebPart.reconfigure",
             "if spec.serve != self.spec.serve:", "if False:",
             (RELOAD_OUT + "test_the_web_view_follows_the_cameras_and_moves_with_its_settings",)),
    Mutation("reload: an unchanged --serve rebuilt all the same", "serve_config",
             "        return running\n", "        pass\n",
             (RELOAD_OUT + "test_the_web_view_follows_the_cameras_and_moves_with_its_settings",)),
    Mutation("reload: a --serve that cannot bind ends the old server too", "rereader.reread",
             '            log.warning(f"reload: {error}; the web view stays as it was")', "            serve = None",
             (RELOAD_OUT + "test_the_web_view_follows_the_cameras_and_moves_with_its_settings",)),
    Mutation("reload: an added camera missing from the web view", "WebView.reconfigure",
             "                self.add_feed(feed)", "                pass",
             (RELOAD_OUT + "test_the_web_view_follows_the_cameras_and_moves_with_its_settings",
              RELOAD_OUT + "test_the_open_page_shows_an_added_camera_and_drops_a_removed_one")),
    Mutation("reload: a removed camera stays in the web view", "WebView.reconfigure",
             "            self.remove_feed(gone)", "            pass",
             (RELOAD_OUT + "test_the_web_view_follows_the_cameras_and_moves_with_its_settings",)),
    Mutation("reload: the open page keeps the tiles it was opened with", "src/live_classify/sinks/web/page/app.js",
             "if (names === laidOut && !restarted) return;", "if (laidOut !== null && !restarted) return;",
             (RELOAD_OUT + "test_the_open_page_shows_an_added_camera_and_drops_a_removed_one",)),
    Mutation("reload: the open page keeps its streams on the server a reload replaced",
             "src/live_classify/sinks/web/page/app.js", "const restarted = s.uptime_s < uptime;",
             "const restarted = false;",
             (RELOAD_OUT + "test_the_open_page_shows_an_added_camera_and_drops_a_removed_one",)),
    Mutation("reload: a stream opened anew on the page shows the old stream's image",
             "src/live_classify/sinks/web/page/app.js", "const again = () => (layouts > 1 ? { again: layouts } : {});",
             "const again = () => ({});",
             (RELOAD_OUT + "test_the_open_page_shows_an_added_camera_and_drops_a_removed_one",)),
    Mutation("reload: the grid keeps a removed camera's tile", "Grid.set_cameras",
             "self.tiles = {camera: self.tiles.get(camera) or Tile() for camera in cameras}",
             "self.tiles = {**self.tiles, **{camera: self.tiles.get(camera) or Tile() for camera in cameras}}",
             ("tests/e2e/test_grid.py::test_a_reload_adds_a_waiting_tile_and_takes_a_removed_one_away",)),
    Mutation("reload: the JSON lines go on in the old file", "JsonlPart.reconfigure",
             "if (spec.target, spec.drop) != (self.spec.target, self.spec.drop):", "if False:",
             (RELOAD_OUT + "test_the_json_lines_move_to_a_new_file_with_none_lost",)),
    Mutation("reload: the old JSON lines file left open", "Sinks._close_one",
             "            sink.close()\n", "",
             (RELOAD_OUT + "test_the_json_lines_move_to_a_new_file_with_none_lost",)),
    Mutation("config-file: a camera's own event rules ignored", "events_spec",
             "tuple((s.name, s.events) for s in sources)", "tuple((s.name, rules) for s in sources)",
             (RELOAD_OUT + "test_a_cameras_own_event_rules_apply_to_it_alone_and_change_on_reload",)),
    Mutation("config-file: a camera's event list adds to the top level's", "_add_cameras",
             "if entry.dest not in mine", "if True",
             (CONFIG_UNIT + "test_a_cameras_event_rules_replace_the_top_levels",)),
    Mutation("reload: a camera's new event rules never applied", "Events.reconfigure",
             "if camera not in self.trackers or (tracker.rules if tracker else None) != wanted:",
             "if camera not in self.trackers:",
             (RELOAD_OUT + "test_a_cameras_own_event_rules_apply_to_it_alone_and_change_on_reload",)),
    Mutation("reload: new event rules restart the camera", "CameraSpec.of",
             "replace(src, record=None, events=None, **kept)", "replace(src, record=None, **kept)",
             (RELOAD_OUT + "test_a_cameras_own_event_rules_apply_to_it_alone_and_change_on_reload",)),
    Mutation("config-file: a problem after parsing names the flag, not the file's line", "ConfigFile.located",
             'return f"{entry.origin}: {match[1]}{problem[match.end():]}" if entry else problem', "return problem",
             (CONFIG_UNIT + "test_a_problem_found_after_parsing_names_the_files_line",)),
    Mutation("config-file: a refused value reads 'key: must be'", "refused_message",
             '" must " if m[2] else ": "', '": must " if m[2] else ": "',
             (CONFIG_UNIT + "test_a_wrong_value_is_the_flags_own_message_with_the_key_and_line",)),
    Mutation("config-file: a value that is no number does not say what the flag takes", "_bounded",
             "        raise _refuse(what, text) from None", "        raise argparse.ArgumentTypeError(text) from None",
             (CONFIG_UNIT + "test_a_wrong_value_is_the_flags_own_message_with_the_key_and_line",
              CONFIG_UNIT + "test_a_value_out_of_bounds_says_what_the_flag_takes_on_the_command_line_too")),
    Mutation("reload: MQTT keeps its old prefix", "MqttPart.reconfigure",
             "if (spec.mqtt, spec.camera, spec.source_name) != (self.spec.mqtt, self.spec.camera, "
             "self.spec.source_name):", "if False:",
             (RELOAD_OUT + "test_mqtt_moves_to_a_new_prefix",)),
    # review of issues 22-24 (the lead):
    Mutation("reload: a camera added by a reload never gets its clips named", "EventsPart.reconfigure",
             "            self.names.reroot(dict(spec.roots))", "            pass",
             (RELOAD_OUT + "test_a_camera_added_by_a_reload_records_its_event_clips",)),
    # issue 31, reload as a diff (reload3):
    Mutation("reload: a removed label's (or camera's) Home Assistant config left retained", "MqttSink.forget",
             'self._writer.submit((topic, "", True, self.config.qos))', "pass",
             (ORACLE,)),
    Mutation("reload: an added camera's recording not indexed", "RecordPart.__init__",
             "index.index if isinstance(index, IndexPart) else None", "None",
             (ORACLE,)),
    Mutation("reload: watch-model switched off keeps watching", "WatchPart.retire",
             "        self.stop.set()", "        pass",
             (SAYS + "test_watch_model_switched_on_and_off_by_a_reload",)),
    Mutation("reload: a refused reload never says READY=1", "Reloader.step",
             "        if notifier := self._notifier():\n            notifier.reloaded(refused)",
             "        if (notifier := self._notifier()) and not refused:\n            notifier.reloaded(refused)",
             (SAYS + "test_each_change_is_one_line_and_systemd_hears_every_reload",)),
    Mutation("reload: what changed is not said", "Reloader._apply",
             "        for line in said:\n            info(line)\n", "",
             (SAYS + "test_each_change_is_one_line_and_systemd_hears_every_reload",)),
    Mutation("--check: the model's classes not checked", "_check_runs",
             "    validate(run, describe_model(run.model, _overrides(args)).labels)\n", "",
             ("tests/e2e/test_reload_check.py::test_check_refuses_what_a_reload_refuses_and_passes_what_it_takes",)),
    Mutation("rtsp-transport: another camera's open reads this one's options", "capture_options",
             "    with _OPENING:", "    with contextlib.nullcontext():",
             ("tests/unit/sources/test_capture_options.py::test_another_camera_s_open_never_reads_this_one_s_transport",)),
    Mutation("a capture thread's failure without its traceback under --verbose", "Camera._guarded",
             '            debug_traceback(f"{threading.current_thread().name} failed", error)\n', "",
             ("tests/unit/pipeline/test_camera.py::test_a_failing_thread_says_its_traceback_under_verbose",)),
    Mutation("reload: a removed camera's outputs kept for the summary (their encoders with them)", "Sinks.remove",
             "        self.all = [sink for sink in self.all if all(sink is not g for g in gone)]", "        pass",
             ("tests/e2e/test_reload_cycles.py::test_cameras_added_and_removed_give_back_their_threads_and_memory",)),
    Mutation("reload: a removed camera's encoders wait for Python's collector", "Sinks._close_each",
             "        gc.collect()\n", "",
             ("tests/e2e/test_reload_cycles.py::test_cameras_added_and_removed_give_back_their_threads_and_memory",)),
    Mutation("config-file: a camera's own event does not count for record-mode events", "src/live_classify/cli/main.py",
             "cameras_events = config is not None and any(", "cameras_events = False and any(",
             (CONFIG_E2E + "test_record_mode_events_with_the_events_in_the_cameras_tables",)),
    Mutation("reload: a SIGHUP while the run starts kills it", "hold",
             "        signal.signal(signal.SIGHUP, lambda _signum, _frame: PENDING.set())", "        pass",
             (RELOAD + "test_a_sighup_while_the_run_starts_is_its_first_reload",)),
    # issue 24, history:
    Mutation("history: Range ignored (the whole file, 200, to every request)", "serve",
             "return web.FileResponse(path, headers=", "return web.Response(body=path.read_bytes(), headers=",
             (HISTORY + "test_a_segment_is_served_whole_and_by_ranges",)),
    Mutation("history: a traversal allowed (only the resolved path's presence checked)", "locate",
             "if path == base or not path.is_relative_to(base):", "if path == base:",
             (HISTORY + "test_no_path_from_a_request_leaves_the_recording_directory",)),
    Mutation("history: the export re-encodes", "_Cut.add",
             '        if self.stream is None:\n'
             '            self.stream, self.size = self.output.add_stream_from_template(video), size\n'
             '        elif size != self.size:  # the camera came back at another size: one MP4 holds one size\n'
             '            return False\n'
             '        waiting: list[av.Packet] = []  # from the newest keyframe before start, until start is reached\n'
             '        for packet in source.demux(video):\n'
             '            if packet.dts is None or packet.pts is None:\n'
             '                continue\n'
             '            t = segment_start + float(packet.pts * time_base)\n'
             '            if t > self.end:\n'
             '                return False\n'
             '            if t < start:\n'
             '                if packet.is_keyframe:\n'
             '                    waiting = [packet]\n'
             '                elif waiting:\n'
             '                    waiting.append(packet)\n'
             '                continue\n'
             '            for held in [*waiting, packet]:\n'
             '                self._write(held, segment_start, time_base)\n'
             '            waiting = []\n'
             '        return True\n',
             '        if self.stream is None:\n'
             '            self.stream, self.size = self.output.add_stream("libx264", rate=video.average_rate), size\n'
             '            self.stream.width, self.stream.height, self.stream.pix_fmt = *size, "yuv420p"\n'
             '            self.stream.options = {"tune": "zerolatency"}\n'
             '        for frame in source.decode(video):\n'
             '            t = segment_start + float(frame.time)\n'
             '            if t > self.end:\n'
             '                return False\n'
             '            if t >= start:\n'
             '                self.origin = t if self.origin is None else self.origin\n'
             '                frame.pts = round((t - self.origin) / video.time_base)\n'
             '                for packet in self.stream.encode(frame):\n'
             '                    self.output.mux(packet)\n'
             '        return True\n',
             (HISTORY + "test_the_export_is_the_recorded_packets_of_the_range_as_one_mp4",)),
    Mutation("history: the export goes on past its end (wrong duration)", "_Cut.add",
             "            if t > self.end:\n                return False\n", "",
             (HISTORY + "test_the_export_is_the_recorded_packets_of_the_range_as_one_mp4",)),
    Mutation("history: the export starts at the segment's start (wrong duration)", "_Cut.add",
             "            if t < start:\n", "            if t < 0:\n",
             (HISTORY + "test_the_export_is_the_recorded_packets_of_the_range_as_one_mp4",)),
    Mutation("history: the events API ignores the label", "History.events",
             "        if span.label:\n", "        if False:\n",
             (HISTORY + "test_each_filter_of_the_events_keeps_what_it_names_and_only_that",)),
    Mutation("history: the events API ignores since", "_where",
             "    if span.since is not None:\n", "    if False:\n",
             (HISTORY + "test_each_filter_of_the_events_keeps_what_it_names_and_only_that",)),
    Mutation("history: the events API ignores the camera", "_where",
             "    if span.camera:\n", "    if False:\n",
             (HISTORY + "test_each_filter_of_the_events_keeps_what_it_names_and_only_that",)),
    Mutation("history: the events API ignores until", "_where",
             "    if span.until is not None:\n", "    if False:\n",
             (HISTORY + "test_each_filter_of_the_events_keeps_what_it_names_and_only_that",)),
    Mutation("history: the page's script needs the token (a page opened with ?token= stays empty)", "PUBLIC",
             '"/history.js", ', "",
             (WEB_AUTH + "test_the_page_with_a_token_in_chromium_is_styled_shows_the_picture_and_the_label",)),
    Mutation("history: the page does not pass its token on", SRC + "sinks/web/page/history.js",
             "  if (token) query.set(\"token\", token);\n", "",
             (WEB_AUTH + "test_the_page_with_a_token_in_chromium_is_styled_shows_the_picture_and_the_label",)),
    # issue 33 (events): what a person reads of events, webhooks, Home Assistant, clips and the pages.
    Mutation("summary: events named after the watched labels, not counted per label", "Events.summary",
             "return events_line(self.started, watched)",
             "return f\"{sum(self.started.values())} events ({', '.join(self.rules.labels)})\"",
             (EVENTS + "test_one_event_per_espresso_phase_in_the_json_lines_and_the_index",)),
    Mutation("webhooks: what waits at the end lost without a count", "Webhooks.close",
             "            receiver.lost = receiver.submitted - receiver.sent", "            pass",
             (EVENTS + "test_events_a_hung_receiver_never_got_are_counted_as_dropped_at_the_end",
              EVENTS_UNIT + "test_at_the_end_what_is_not_sent_in_time_is_counted_as_dropped")),
    Mutation("webhooks: no idempotency key", "post",
             '"X-Event-Id": delivery.event_id, "Idempotency-Key": delivery.key}', "}",
             (EVENTS + "test_a_receiver_slower_than_a_few_seconds_gets_each_start_and_end_once_with_its_key_and_"
                       "clip_urls",)),
    Mutation("Home Assistant: the label sensor shows the top label below --min-confidence", "MqttSink._label_shown",
             "UNKNOWN if is_unknown(top, self.min_confidence) else str(top.labels[0])", "str(top.labels[0])",
             (MQTT + "test_home_assistant_sees_the_label_the_page_shows_a_snapshot_camera_and_occupancy_only_"
                     "where_given",)),
    Mutation("thumbnails: the best frame not kept (the recording's frame, an older prediction, instead)",
             "Events.write_predictions", ", partial(Moment.of, prediction))", ")",
             (CLIPS + "test_a_live_event_s_thumbnail_is_its_best_frame_with_its_own_prediction",)),
    Mutation("clips: --event-max never cuts", "Clips._feed",
             "if packet.key and packet.t - clip.t0 >= self.plan.max_s:",
             "if False and packet.key and packet.t - clip.t0 >= self.plan.max_s:",
             (CLIPS + "test_event_max_cuts_a_long_event_into_consecutive_clips_of_one_event",)),
    Mutation("pages: labels coloured by a property of their own (their length), not told apart",
             "src/live_classify/sinks/web/page/history.js",
             "  if (!palette.has(label)) palette.set(label, palette.size);",
             "  if (!palette.has(label)) palette.set(label, label.length);",
             ("tests/e2e/test_history_browser.py::test_labels_get_clearly_different_colours",)),

    # issue 34, the motion gate
    Mutation("gate: a new scene is not learnt anew (it stays motion for seconds)", "MotionGate.check",
             "if count > SCENE_FRACTION * self._kept:", "if False:",
             ("tests/unit/pipeline/test_motion_gate.py::test_the_lights_switched_on_learn_the_background_anew_and_are_classified_once",)),
    Mutation("gate: no refresh for a still camera", "MotionGate.check",
             "elif t - self._classified >= self.config.refresh_s:", "elif False:",
             ("tests/unit/pipeline/test_motion_gate.py::test_a_still_camera_is_classified_again_after_the_refresh",
              "tests/e2e/test_gate.py::test_a_mask_over_the_whole_frame_warns_and_leaves_only_the_refresh")),
    Mutation("gate: masks ignored", "MotionGate._resize", "            keep[max(0, y0):y1, max(0, x0):x1] = False\n",
             "", ("tests/unit/pipeline/test_motion_gate.py::"
                  "test_motion_inside_a_mask_is_ignored_and_outside_it_is_not",)),
    Mutation("gate: a live camera's still frames classified anyway", "Camera._hand_over",
             "            if not frame.still:\n", "            if True:\n",
             ("tests/unit/pipeline/test_camera_gate.py::"
              "test_a_live_camera_s_still_frames_keep_the_answer_and_never_reach_the_engine",
              "tests/e2e/test_gate.py::test_a_live_camera_switching_scenes_is_classified_as_the_new_one_and_its_still_"
              "frames_are_gated")),
    Mutation("gate: a file's still frames classified anyway", "Camera.next_for_inference",
             "            if not frame.still:\n", "            if True:\n",
             ("tests/e2e/test_gate.py::test_a_still_file_is_classified_at_its_scene_changes_and_the_summary_counts_"
              "the_rest",)),
    Mutation("gate: events ignore the still frames' kept answer", "Events.write",
             "if shown.kept and shown.prediction is not None:", "if False:",
             ("tests/unit/sinks/events/test_event_outputs.py::"
              "test_the_gate_s_still_frames_hold_and_end_events_on_the_kept_answer",
              "tests/e2e/test_events.py::test_one_event_per_espresso_phase_in_the_json_lines_and_the_index[motion]")),
    Mutation("gate: the page's tiles do not say a camera is still", SRC + "sinks/web/page/app.js",
             'const state = (c) => c.source_state + (c.still ? ` · ${STILL}` : "");',
             "const state = (c) => c.source_state;",
             ("tests/e2e/test_gate.py::test_still_cameras_tiles_say_so_and_the_status_and_metrics_count_their_gated_"
              "frames",)),
    Mutation("gate: the overlay does not say the label is kept", "_notices", "    if status.still:\n",
             "    if False:\n", ("tests/unit/sinks/display/test_overlay.py::"
                                 "test_a_still_frame_says_its_label_is_kept_and_a_classified_one_does_not",)),
    Mutation("gate: masks beyond the frame accepted", "_member", "    if src.gate and width and height:",
             "    if False:", ("tests/e2e/test_gate.py::test_a_mask_beyond_the_frame_is_one_line_and_exit_2",)),
    # Issue 36: teaching a class from moments of the recordings.
    Mutation("teach: the matcher never applied to a batch", "Classifier.classify_batch",
             "tops = [top if found is None else with_taught(top, *found)",
             "tops = [top if True else with_taught(top, *found)",
             (TAUGHT + "test_the_classifier_names_a_taught_things_frames_and_leaves_the_others_to_the_model",
              TEACH + "test_five_moments_teach_a_class_the_live_camera_uses_at_once_and_a_delete_forgets_it")),
    Mutation("teach: smoothing drops the taught label", "Classifier.smoothed",
             "top=top if result.taught is None else with_taught(top, *result.taught)", "top=top",
             (TAUGHT + "test_the_classifier_names_a_taught_things_frames_and_leaves_the_others_to_the_model",)),
    Mutation("teach: a swapped model forgets what was taught", "Cameras.swap_model",
             "        classifier.succeeds(self.classifier)  # what was taught stays taught\n", "",
             (TEACH + "test_a_model_swapped_by_watch_model_keeps_the_taught_class",)),
    Mutation("teach: the threshold above the examples' spread", "calibrate",
             "np.clip(least - MARGIN, FLOOR, CEILING)", "np.clip(least + MARGIN, FLOOR, CEILING)",
             (TAUGHT + "test_the_threshold_sits_a_margin_below_the_least_similar_pair_within_floor_and_ceiling",)),
    Mutation("teach: the first class that claims a frame wins, not the closest", "Matcher.match",
             "(found is None or similarity > found[1])", "found is None",
             (TAUGHT + "test_a_frame_goes_to_the_closest_class_that_claims_it_and_to_none_below_its_threshold",)),
    Mutation("teach: the features output never bound", "BoundSession.__init__",
             "FEATURES in outputs and output_name != FEATURES", "False",
             (TAUGHT + "test_the_classifier_names_a_taught_things_frames_and_leaves_the_others_to_the_model",)),
    Mutation("teach: a forgotten class still matched", "Teacher.forget",
             "            self._classes.pop(label, None)\n", "",
             (TEACH + "test_five_moments_teach_a_class_the_live_camera_uses_at_once_and_a_delete_forgets_it",)),
    Mutation("teach: the kept classes not matched after a restart", "Teacher.load",
             "                self._classes[label] = TaughtClass.of(label, examples.features)\n", "",
             (TEACH + "test_a_taught_class_survives_a_restart",)),
    Mutation("teach: adding examples replaces the old ones", "_merged",
             "if old is None or old.model != model:", "if True:",
             (TEACH + "test_five_moments_teach_a_class_the_live_camera_uses_at_once_and_a_delete_forgets_it",)),
    Mutation("teach: deleting a label never taught says it is done", "ClassRoutes.forget",
             "if not await self._run(lambda t: t.forget(label)):",
             "if not await self._run(lambda t: t.forget(label)) and False:",
             (TEACH + "test_five_moments_teach_a_class_the_live_camera_uses_at_once_and_a_delete_forgets_it",)),
    Mutation("teach: an overlong label taken", "src/live_classify/teach/store.py",
             "if len(label) > MAX_LABEL:", "if len(label) > MAX_LABEL + 1:",
             ("tests/unit/teach/test_class_store.py",
              TEACH + "test_bad_requests_are_refused_with_a_json_message_and_a_model_class_name_is_said")),
    Mutation("teach: a camera the recordings do not know is read anyway", "Teacher._frames",
             "                if camera not in known:", "                if False:",
             (TEACH + "test_bad_requests_are_refused_with_a_json_message_and_a_model_class_name_is_said",)),
    Mutation("teach: the page takes the start of the playing recording, not its frame on screen",
             "src/live_classify/sinks/web/page/teach.js",
             "time: segment.start + $(\"video\").currentTime", "time: segment.start",
             ("tests/e2e/test_teach_browser.py",)),
    Mutation("teach: the page's delete button deletes nothing", "src/live_classify/sinks/web/page/teach.js",
             "send(\"DELETE\", `api/classes/${encodeURIComponent(taught.label)}`)", "Promise.resolve()",
             ("tests/e2e/test_teach_browser.py",)),
    Mutation("teach: moments of one file read as the first moment", "_decode_to",
             "while len(images) < len(offsets) and frame.time > offsets[len(images)] + 1e-3:",
             "while len(images) < len(offsets) and frame.time > offsets[0] + 1e-3:",
             ("tests/unit/sinks/record/test_frame_at_unit.py",)),

    # issue 34, hardening (benchmarks/results/hardening-issue34-gate.md)
    Mutation("gate: the stretch reads the masked pixels too", "MotionGate._percentiles",
             "np.bincount(small[self._keep]", "np.bincount(small.ravel()",
             (GATE_UNIT + "test_a_flashing_tv_under_a_large_mask_does_not_move_the_contrast_of_the_rest",)),
    Mutation("gate: a uniform frame divides by zero", "MotionGate._stretched",
             "255.0 / max(1.0, high - low)", "255.0 / (high - low)",
             (GATE_UNIT + "test_a_uniform_frame_is_checked_like_any_other",)),
    Mutation("gate: the background never learns what stays", "MotionGate.check",
             "        cv2.accumulateWeighted(seen, self._background, BACKGROUND_ALPHA)\n", "",
             (GATE_UNIT + "test_something_that_arrives_and_stays_becomes_background",)),
    Mutation("gate: a mask's bottom from its height alone", "MotionGate._resize",
             "math.ceil((y + h) * small_h / height) + 1", "math.ceil(h * small_h / height) + 1",
             (GATE_UNIT + "test_a_mask_away_from_the_corner_is_placed_by_its_x_y_width_and_height",)),
    Mutation("gate: a new scene does not restart the refresh", "MotionGate._learn",
             "        self._classified = t\n",
             "        self._classified = t if verdict is Verdict.FIRST else self._classified\n",
             (GATE_UNIT + "test_a_new_scene_counts_as_classified_for_the_refresh",)),
    Mutation("gate: a reload that changes nothing else restarts the gate", "Cameras.retune",
             "        if gate == member.camera.gate.config:\n            return\n", "",
             ("tests/unit/app/test_retune.py::test_a_reload_that_leaves_the_gate_as_it_was_does_not_start_it_afresh",)),
    Mutation("gate: --gate-area ignored", "gate_config", "args.gate_threshold, args.gate_area,",
             "args.gate_threshold, 0.1,",
             ("tests/unit/cli/test_gate_flags.py::test_each_flag_reaches_the_camera_s_gate_in_its_own_unit",)),
    Mutation("gate: events take a pending still frame's old answer", "Events.write",
             "if shown.kept and shown.prediction is not None:",
             "if shown.frame.still and shown.prediction is not None:",
             ("tests/unit/sinks/events/test_event_outputs.py::test_a_kept_frame_is_not_evidence_until_marked_so",)),
    Mutation("gate: the summary hides what a gate turned off had gated", "_gated",
             "if gate.config or gate.gated else", "if gate.config else",
             ("tests/unit/app/test_gated_summary.py::test_each_camera_says_its_gated_frames_when_it_had_a_gate",)),
    Mutation("gate: one camera's page does not count its gated frames", SRC + "sinks/web/page/app.js",
             "${s.classified} / ${s.gated} / ${s.dropped}", "${s.classified} / ${s.dropped}",
             ("tests/e2e/test_gate.py::test_one_still_camera_s_page_says_so_and_counts_its_gated_frames",)),
    # issue 33's store, hardened (benchmarks/results/hardening-issue33-store.md)
    Mutation("store hardening: a lock is not waited for", SRC + "sinks/events/index_file.py",
             'return "locked" in text or "busy" in text', 'return "busy" in text',
             (INDEX_UNIT + "test_a_lock_is_waited_for_damage_is_set_aside_and_a_full_disk_is_neither",)),
    Mutation("store hardening: a damaged index set aside over another", SRC + "sinks/events/index_file.py",
             "while aside.exists():", "if aside.exists():",
             (INDEX_UNIT + "test_damaged_files_in_one_second_are_each_set_aside_under_a_name_of_their_own",)),
    Mutation("store hardening: the index known by its size", SRC + "sinks/events/index_file.py",
             "return (status.st_dev, status.st_ino)", "return (status.st_dev, status.st_size)",
             (INDEX_UNIT + "test_a_file_is_known_by_its_identity_not_its_size_or_contents",)),
    Mutation("store hardening: a lock said at every retry", SRC + "sinks/events/index.py",
             "if tries == 0:", "if True:",
             (INDEX_UNIT + "test_a_lock_held_by_another_writer_is_waited_for_said_once_and_the_row_kept",)),
    Mutation("store hardening: the close never gives up on a lock", SRC + "sinks/events/index.py",
             "(self._closing.is_set() and time.monotonic() - waited > GIVE_UP_CLOSING_S)", "(False)",
             (INDEX_UNIT + "test_a_lock_still_held_at_the_close_is_given_up_on_and_the_close_ends",)),
    Mutation("store hardening: a replaced index gets the old one's log", SRC + "sinks/events/index.py",
             "        self._fold_log()\n", "",
             (INDEX_UNIT + "test_an_index_replaced_under_the_writer_is_written_from_then_on_and_a_damaged_one_"
              "rebuilt",)),
    Mutation("store hardening: this run's open events closed at its start", SRC + "sinks/events/rebuild.py",
             "AND start < ?',\n                      (before,))",
             "AND start < ?',\n                      (float(\"inf\"),))",
             ("tests/unit/sinks/events/test_rebuild_unit.py::"
              "test_only_open_events_of_an_earlier_run_are_closed_and_never_by_another_event_s_clip",)),
    Mutation("store hardening: recording resumes at the reserve's edge", SRC + "sinks/files.py",
             "free >= RESUME_FACTOR * reserve(self.rate)", "free >= reserve(self.rate)",
             ("tests/unit/sinks/test_files_unit.py::"
              "test_a_stopped_recording_resumes_only_with_half_its_peak_reserve_again_free_looked_at_every_3_s",)),
    Mutation("store hardening: the segment not finished at a full disk", SRC + "sinks/record/segments.py",
             "        self.close()\n        self.stopped_because, self.stops",
             "        self.stopped_because, self.stops",
             ("tests/unit/sinks/record/test_segments_unit.py::"
              "test_a_full_disk_finishes_the_segment_drops_frames_until_there_is_room_and_says_it_resumed_once",)),
    Mutation("store hardening: two events in one second share a clip", SRC + "sinks/record/clip_names.py",
             "while clip in self._given.values() or (self.roots", "while (self.roots",
             ("tests/unit/sinks/record/test_clip_names_unit.py::"
              "test_two_events_going_on_in_one_second_get_names_of_their_own_and_none_while_the_disk_is_full",)),
    Mutation("store hardening: only the first SIGUSR1 reopens", SRC + "sinks/jsonl_file.py",
             '_reopen.update(asked=_reopen["asked"] + 1)', "_reopen.update(asked=1)",
             ("tests/unit/sinks/test_jsonl_file_unit.py::test_every_real_sigusr1_reopens_the_file_not_only_the_first",)),
    # Users, roles, safe changes and marks (issue 36).
    Mutation("users: a viewer may change things", SRC + "sinks/web/roles.py",
             "(request.method not in SAFE and request.path not in EXEMPT) or ", "",
             (ROLES + "test_a_change_needs_an_admin_this_site_and_the_sessions_token",)),
    Mutation("users: a viewer sees every camera", "may_see", "return sees(who(request), camera)", "return True",
             (ROLES + "test_a_viewer_sees_its_cameras_and_nothing_of_the_others",
              USERS_E2E + "test_in_a_browser_the_admin_sees_both_cameras_and_marks_an_event_the_viewer_its_camera_"
                          "alone")),
    Mutation("users: /media/door/../kitchen/ is door's", "Routes.media", "posixpath.normpath(path).partition",
             "path.partition", (ROLES + "test_a_viewer_sees_its_cameras_and_nothing_of_the_others",)),
    Mutation("users: a viewer's status lists every camera", "status_for", "    if is_admin(request):",
             "    if True:", (ROLES + "test_a_viewer_sees_its_cameras_and_nothing_of_the_others",)),
    Mutation("users: a reload keeps the sessions of users removed or given a new password", "Guard.set_users",
             "ended = self.sessions.end_users(kept)", "ended = 0",
             ("tests/unit/sinks/web/test_web_users_unit.py::test_a_reload_ends_the_sessions_of_users_removed_or_given_a_"
              "new_password_only",)),
    Mutation("csrf: any X-CSRF-Token passes", SRC + "sinks/web/safe_changes.py", "request.path != LOGOUT and not same(",
             "request.path != LOGOUT and same(",
             (ROLES + "test_a_change_needs_an_admin_this_site_and_the_sessions_token",)),
    Mutation("csrf: another site's Origin passes", "same_site", "    if origin is None:\n        return True",
             "    return True",
             (USERS_E2E + "test_people_log_in_see_their_cameras_change_as_admins_and_go_with_a_reload",)),
    Mutation("csrf: the page's changes lack the header", SRC + "sinks/web/page/session.js",
             '    if (csrf) headers["X-CSRF-Token"] = csrf;\n', "",
             (USERS_E2E + "test_in_a_browser_the_admin_sees_both_cameras_and_marks_an_event_the_viewer_its_camera_"
                          "alone",)),
    Mutation("marks: an index made before marks cannot be read", "_read", "return []  # an index of an older",
             "pass  # an index of an older", (ROLES + "test_an_index_made_before_marks_is_read_and_then_marked",)),
    # issue 37, the live view in H.264
    Mutation("live: the encoder runs with nobody watching", "LiveChannel.wanted",
             "(bool(self.viewers) or now - self.left_at < LINGER_S)", "True",
             (LIVE_VIEW + "test_two_viewers_share_one_encoder_of_the_annotated_picture_which_stops_after_the_last_"
              "leaves",)),
    Mutation("live: the raw frame encoded, not the annotated one", "WebView.write",
             "feed.live.offer(update.canvas)", "feed.live.offer(update.shown.frame.image)",
             (LIVE_VIEW + "test_two_viewers_share_one_encoder_of_the_annotated_picture_which_stops_after_the_last_"
              "leaves",)),
    Mutation("live: a new viewer gets no init segment", "LiveChannel.fragment",
             "                viewer.start(self.init)\n", "                viewer.started = True\n",
             (LIVE_VIEW + "test_two_viewers_share_one_encoder_of_the_annotated_picture_which_stops_after_the_last_"
              "leaves",)),
    Mutation("live: a viewer's queue without a bound", SRC + "sinks/web/live_streams.py", "BACKLOG = 30 ",
             "BACKLOG = 10**6 ", (LIVE_VIEW + "test_a_reader_that_reads_nothing_falls_behind_alone_and_is_dropped",)),
    Mutation("live: the page never tries H.264", SRC + "sinks/web/page/live.js",
             "return Boolean(MSE && MSE.isTypeSupported && MSE.isTypeSupported(LIVE_CODEC));", "return false;",
             (LIVE_VIEW + "test_the_page_plays_the_h264_stream_in_a_video_element_in_chromium_and_mjpeg_where_mse_is_"
              "missing",)),
    Mutation("live: the page never jumps to the live edge", SRC + "sinks/web/page/live.js",
             "if (video.currentTime < start || end - video.currentTime > BEHIND_S)", "if (false)",
             (LIVE_VIEW + "test_the_page_plays_the_h264_stream_in_a_video_element_in_chromium_and_mjpeg_where_mse_is_"
              "missing",)),
    Mutation("live: a failed encoder leaves its viewers waiting", "LiveChannel.ended",
             "self.end_started() if why is None else self.end_all()", "self.end_started()",
             ("tests/unit/sinks/web/test_live_unit.py::"
              "test_an_encoder_that_fails_says_why_once_and_its_channel_ends_every_stream",)),
    Mutation("live: every fragment waits for the viewer's handler", "Viewer.give",
             "        if (self.open and not self.ended", "        if (False and self.open and not self.ended",
             ("tests/unit/sinks/web/test_live_unit.py::"
              "test_a_viewer_who_keeps_up_gets_each_fragment_at_once_and_one_behind_gets_them_together",)),
    Mutation("live: a viewer behind gets what queued one fragment a write", "Viewer.send",
             'framed, self.pending = b"".join(self.pending), []',
             "framed, self.pending = self.pending[0], self.pending[1:]",
             ("tests/unit/sinks/web/test_live_unit.py::"
              "test_a_viewer_who_keeps_up_gets_each_fragment_at_once_and_one_behind_gets_them_together",)),
    # Issue 35, camera health: a flat bright object is no blur; no label looks like a camera problem.
    Mutation("health: sharpness over each part's mean luma, not each pixel's neighbourhood's", "sharpness",
             "contrast = laplacian / (local + 1.0)",
             "contrast = laplacian / (cv2.resize(cv2.resize(small, (4, 3), interpolation=cv2.INTER_AREA), "
             "small.shape[::-1], interpolation=cv2.INTER_NEAREST) + 1.0)",
             ("tests/unit/pipeline/test_health_checks.py::test_no_crying_wolf_on_a_normal_changing_scene[lorry-close]",)),
    Mutation("health: blurred judged by the least sharp part", "sharpened",
             "np.median(sharp / (normal + 1e-6))", "np.min(sharp / (normal + 1e-6))",
             ("tests/unit/pipeline/test_health_checks.py::test_no_crying_wolf_on_a_normal_changing_scene[lorry]",)),
    Mutation("history: a label may get the camera problems' red", SRC + "sinks/web/page/history.js",
             "while (nearProblem(hue(painted))) painted += 1;", "while (false) painted += 1;",
             ("tests/e2e/test_history_browser.py::test_no_label_gets_a_colour_near_the_camera_problem_s_red",)),
]


def _functions(tree: ast.AST, prefix: str = "") -> Iterator[tuple[str, ast.AST]]:
    """Every function, method and class in a module, with its qualified name (``Class.method``),
    and every name assigned at a module's or a class's top level (``PUBLIC``, ``Class.LIMIT``)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            name = f"{prefix}.{node.name}" if prefix else node.name
            yield name, node
            yield from _functions(node, name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and not isinstance(tree, ast.FunctionDef):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    yield (f"{prefix}.{target.id}" if prefix else target.id), node


def locate(anchor: str) -> tuple[Path, slice]:
    """The file an anchor names and the span of it in which the mutation applies: a path (the whole
    file), else the one function or class of that qualified name under ``src/``, else the one
    name assigned at a module's or class's top level (a constant)."""
    if "/" in anchor:
        path = ROOT / anchor
        return path, slice(0, len(path.read_text()))
    found: dict[bool, list[tuple[Path, slice]]] = {True: [], False: []}
    for path in sorted((ROOT / SRC).rglob("*.py")):
        text = path.read_text()
        lines = [0, *itertools.accumulate(len(line) for line in text.splitlines(keepends=True))]
        for name, node in _functions(ast.parse(text)):
            if name == anchor:
                first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])  # type: ignore[attr-defined]
                defined = isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                found[defined].append((path, slice(lines[first - 1], lines[node.end_lineno])))  # type: ignore[attr-defined]
    chosen = found[True] or found[False]
    if len(chosen) != 1:
        raise LookupError(f"{anchor}: {len(chosen)} functions of that name under {SRC} (the code moved on?)")
    return chosen[0]


class Mutated:
    """The mutation applied to its file while inside the ``with``; the file is always restored."""

    def __init__(self, mutation: Mutation) -> None:
        self.path, self.span = locate(mutation.anchor)
        self.mutation = mutation
        self.original = self.path.read_bytes()
        self.stat = self.path.stat()

    def __enter__(self) -> Mutated:
        text = self.original.decode()
        inside = text[self.span]
        count = inside.count(self.mutation.old)
        if count != 1:
            raise LookupError(f"{self.mutation.anchor}: the text to mutate occurs {count} times (the code moved on?)")
        mutated = inside.replace(self.mutation.old, self.mutation.new)
        self.path.write_text(text[:self.span.start] + mutated + text[self.span.stop:])
        # Another modification time than the original's, so no stale bytecode of either is ever used.
        os.utime(self.path, ns=(self.stat.st_atime_ns, self.stat.st_mtime_ns + 10**10))
        return self

    def __exit__(self, *exc: object) -> None:
        self.path.write_bytes(self.original)
        os.utime(self.path, ns=(self.stat.st_atime_ns, self.stat.st_mtime_ns))


def run_tests(tests: tuple[str, ...], timeout: float) -> tuple[int | None, str]:
    """pytest's exit status on ``tests`` (0 all passed, 1 some failed; None: they ran too long), its output."""
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)
    try:
        output = process.communicate(timeout=timeout)[0]
    except BaseException:  # too long, or Ctrl+C: neither pytest nor what it started is left behind
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        if sys.exc_info()[0] is subprocess.TimeoutExpired:
            return None, ""
        raise
    return process.returncode, output


def verdict(status: int | None) -> str:
    if status is None:
        return "caught (timed out)"
    return {0: "missed", 1: "caught"}.get(status, f"error (pytest exit {status})")


def try_each(mutations: list[Mutation], timeout: float) -> list[str]:
    """Apply, test, restore, one mutation at a time; one line per mutation as it goes."""
    results = []
    for m in mutations:
        started = time.monotonic()
        try:
            with Mutated(m):
                result = verdict(run_tests(m.tests, timeout)[0])
        except LookupError as error:
            result = f"error ({error})"
        results.append(result)
        print(f"{result:<20} {time.monotonic() - started:5.0f} s  {m.name}", flush=True)
    return results


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", action="append", default=[], metavar="TEXT", help="only mutations whose name has TEXT")
    parser.add_argument("--list", action="store_true", help="list the mutations and their tests, run nothing")
    parser.add_argument("--no-baseline", action="store_true", help="skip checking that the tests pass unmutated")
    parser.add_argument("--timeout", type=float, default=240, help="seconds per mutation (240)")
    args = parser.parse_args()
    chosen = [m for m in MUTATIONS if not args.k or any(k.lower() in m.name.lower() for k in args.k)]
    if args.list:
        for m in chosen:
            print(f"{m.name}\n    {m.anchor}: {m.old.strip()!r} -> {m.new.strip()!r}\n    {' '.join(m.tests)}")
        return 0
    for signum in (signal.SIGTERM, signal.SIGHUP):  # restore the file then too, as on Ctrl+C
        signal.signal(signum, _interrupt)
    try:
        if not args.no_baseline:
            tests = tuple(dict.fromkeys(t for m in chosen for t in m.tests))
            status, output = run_tests(tests, args.timeout * 2)
            if status != 0:
                failed = "".join(f"\n    {line}" for line in output.splitlines() if line.startswith("FAILED"))
                print(f"the named tests do not pass on the unmutated code: fix that first{failed}")
                return 2
        results = try_each(chosen, args.timeout)
    except KeyboardInterrupt:
        print("interrupted; every mutated file was restored")
        return 130
    caught = sum(r.startswith("caught") for r in results)
    missed = results.count("missed")
    print(f"{caught} of {len(results)} caught, {missed} missed, {len(results) - caught - missed} errors")
    return 0 if caught == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
