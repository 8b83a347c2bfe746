"""``--config`` read again on SIGHUP: the file resolved with the same command line as at the start,
checked as at the start, and turned into the run's values; what cannot change without a restart
says so in one line. A changed ``--serve`` binds its new socket here, off the main loop."""
from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence
from dataclasses import replace

from live_classify import log
from live_classify.cli.config_check import render
from live_classify.cli.config_file import resolve
from live_classify.cli.config_toml import ConfigError
from live_classify.cli.inputs import default_names
from live_classify.cli.modes import PHOTOS, source_modes
from live_classify.cli.run_config import run_config
from live_classify.config import RunConfig, ServeConfig
from live_classify.errors import LiveClassifyError
from live_classify.sinks.record.retention import camera_folder
from live_classify.sinks.web.listen import listen, listen_again, serve_password, serve_token
from live_classify.sources.capture import parse_camera, parse_video_source

#: Flags a reload cannot change (the engine, the window, the batching).
RESTART_ONLY = ("provider", "backend", "device_id", "headless", "windows",
                "max_batch", "batch_wait", "collect", "classes", "top_k")


def serve_config(args: argparse.Namespace, running: ServeConfig | None = None) -> ServeConfig | None:
    """``--serve`` as the flags ask: the running server's settings when none changed; on the same
    address, its socket again (the port never closes); elsewhere, a socket bound now (a port in use
    fails here, before a camera opens or a reload changes anything)."""
    if not args.serve:
        return None
    token, password, where = serve_token(args.serve_token), serve_password(args.serve_password_file), args.serve
    wanted = (token, args.serve_fps, args.serve_clients, password, str(where), tuple(args.serve_host or ()),
              args.serve_users)
    if running is not None and (running.token, running.fps, running.clients, running.password,
                                running.address, running.hosts, running.users_file) == wanted:
        return running
    same = running is not None and running.address == str(where)
    guarded = token or password or (args.serve_users and "users")  # beyond loopback, one of them
    sock = listen_again(running.sock, where, guarded) if running and same else listen(where, guarded)
    return ServeConfig(sock, *wanted)


def rereader(path: str, argv: Sequence[str], first: argparse.Namespace) -> Callable[[RunConfig], RunConfig]:
    """The function that reads ``path`` again with the command line ``argv`` (``running``: what
    runs now); a problem raises :class:`LiveClassifyError` with the one line the start would have
    said, but a web server that cannot move is one line and stays as it was."""
    def reread(running: RunConfig) -> RunConfig:
        try:
            config = resolve(path, argv, os.environ)
        except ConfigError as error:
            raise LiveClassifyError(str(error)) from None
        args = config.args
        try:
            modes = source_modes(args.camera, args.source)
        except ValueError as error:
            raise LiveClassifyError(str(error)) from None
        if PHOTOS in modes:
            raise LiveClassifyError("photos are classified once, not reloaded")
        for warning in config.warnings:
            log.warning(warning)
        for key in RESTART_ONLY:
            if getattr(args, key) != getattr(first, key):
                log.warning(f"reload: {key.replace('_', '-')} changes only with a restart; it stays as it was")
        specs = [parse_camera(i.value) if i.kind == "camera" else parse_video_source(i.value) for i in args.inputs]
        names = default_names(args.inputs, camera_folder(specs[0]))
        serve = running.outputs.serve
        try:
            serve = serve_config(args, serve)
        except LiveClassifyError as error:
            log.warning(f"reload: {error}; the web view stays as it was")
        new = run_config(args, specs, names, serve, [camera.args for camera in config.cameras])
        return replace(new, shown=render(config))

    return reread
