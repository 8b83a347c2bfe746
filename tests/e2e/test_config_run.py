"""``live-classify --config box.toml`` through the real command: ``--check`` shows the configuration
masked and with the origin of every value, a bad file is one line and exit 2, and a run from the file
writes the same JSON lines as the same flags typed."""
from __future__ import annotations

import json
from pathlib import Path

from conftest import assert_clean_error, count_frames, headless_env, run_cli

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "box.toml"

SECRET = "s3cret-from-credential"


def test_check_shows_the_resolved_configuration_masked(tmp_path: Path) -> None:
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "yard-password").write_text(SECRET + "\n")
    (tmp_path / "box.toml").write_text('headless = true\nserve-token = "${TOKEN}"\n\n[[camera]]\nname = "door"\n'
                                       'camera = 0\n\n[[camera]]\nname = "yard"\nsource = "rtsp://admin@10.0.0.5/s"\n'
                                       'password-file = "yard-password"\nmin-confidence = 0.6\n')
    env = headless_env(CREDENTIALS_DIRECTORY=str(credentials), TOKEN="t0ken-in-env")
    run = run_cli("--config", "box.toml", "--check", "--top-k", "3", cwd=tmp_path, env=env)
    assert run.returncode == 0, run.stderr
    assert SECRET not in run.stdout + run.stderr and "t0ken-in-env" not in run.stdout + run.stderr
    lines = [" ".join(line.split()) for line in run.stdout.splitlines()]
    assert 'headless = true # box.toml:1' in lines
    assert 'serve-token = "***" # box.toml:2' in lines
    assert 'top-k = "3" # flag' in lines
    assert "smooth = 1.0 # default" in lines
    assert 'source = "rtsp://admin:***@10.0.0.5/s" # box.toml:10' in lines
    assert "min-confidence = 0.6 # box.toml:12" in lines
    assert lines.count("[[camera]]") == 2


def test_record_mode_events_with_the_events_in_the_cameras_tables(tmp_path: Path) -> None:
    """Clips for the one camera that watches a label of its own: no top-level ``event`` is needed."""
    (tmp_path / "box.toml").write_text('headless = true\nrecord = "rec/"\nrecord-mode = "events"\n'
                                       'event-threshold = 0.6\n\n[[camera]]\nname = "door"\ncamera = 0\n'
                                       'event = ["tabby"]\n\n[[camera]]\nname = "yard"\ncamera = 1\n')
    run = run_cli("--config", "box.toml", "--check", cwd=tmp_path)
    assert run.returncode == 0 and "does nothing" not in run.stderr, run.stderr
    assert 'event = ["tabby"]' in " ".join(run.stdout.split())


def test_a_bad_key_and_an_unset_variable_are_one_line_with_the_line(tmp_path: Path) -> None:
    (tmp_path / "box.toml").write_text('headless = true\n\n[[camera]]\nsource = "clip.mp4"\nsegmnet = "10m"\n')
    run = run_cli("--config", "box.toml", "--check", cwd=tmp_path)
    assert_clean_error(run, "box.toml:5: unknown key 'segmnet' (did you mean 'segment'?)")
    assert run.returncode == 2
    (tmp_path / "box.toml").write_text('[[camera]]\nsource = "rtsp://u:${RTSP_PASSWORD}@cam/s"\n')
    run = run_cli("--config", "box.toml", cwd=tmp_path)
    assert_clean_error(run, "box.toml:2: ${RTSP_PASSWORD} is not set")
    assert run.returncode == 2


def stable(stdout: str) -> list[dict[str, object]]:
    """The JSON lines without what differs from run to run (clock times)."""
    rows = [json.loads(line) for line in stdout.splitlines()]
    return [{key: value for key, value in row.items() if key not in ("time", "times_ms", "latency_ms")} for row in rows]


def test_a_run_from_the_file_writes_what_the_flags_would(video_file: Path, tmp_path: Path) -> None:
    (tmp_path / "box.toml").write_text(f'min-confidence = 0.9\nprovider = "cpu"\njsonl = "-"\n\n[[camera]]\n'
                                       f'name = "clip"\nsource = "{video_file}"\nsmooth = 0.5\n')
    from_file = run_cli("--config", "box.toml", cwd=tmp_path)
    typed = run_cli("--min-confidence", "0.9", "--provider", "cpu", "--jsonl", "-", "--source", str(video_file),
                    "--name", "clip", "--smooth", "0.5", cwd=tmp_path)
    assert from_file.returncode == 0 and typed.returncode == 0, from_file.stderr + typed.stderr
    rows = stable(from_file.stdout)
    assert len(rows) == 60 and rows == stable(typed.stdout)
    assert all(row["unknown"] for row in rows)  # the file's min-confidence reached the run
    flags_win = run_cli("--config", "box.toml", "--min-confidence", "0.01", "--smooth", "1", cwd=tmp_path)
    overridden = stable(flags_win.stdout)
    assert len(overridden) == 60 and not any(row["unknown"] for row in overridden)  # the flags won
    assert [row["top"] for row in overridden] != [row["top"] for row in rows]


def test_the_deploy_example_checks_clean(tmp_path: Path) -> None:
    (tmp_path / "serve-token").write_text("token-of-the-box\n")
    (tmp_path / "yard-password").write_text("yard-pw\n")
    for secret in ("serve-token", "yard-password"):
        (tmp_path / secret).chmod(0o600)  # as deploy/README.md installs them
    run = run_cli("--config", str(DEPLOY), "--check", env=headless_env(CREDENTIALS_DIRECTORY=str(tmp_path)))
    assert run.returncode == 0 and run.stderr == "", run.stderr
    assert "token-of-the-box" not in run.stdout and "yard-pw" not in run.stdout
    assert 'source = "rtsp://admin:***@192.168.1.20:554/stream1"' in run.stdout


def test_secret_files_every_user_can_read_are_warned_of_in_check_and_at_start(tmp_path: Path) -> None:
    """A token, a camera's password or the form's password in a file of mode 0644 (written without
    ``install -m 600``): one warning each, naming the file and the fix, in ``--check`` and at the start."""
    for name, text in (("serve-token", "token-of-the-box"), ("yard-password", SECRET), ("form", "form-password")):
        (tmp_path / name).write_text(text + "\n")
        (tmp_path / name).chmod(0o644)
    (tmp_path / "box.toml").write_text('provider = "cpu"\nserve = "127.0.0.1:9"\nserve-token-file = "serve-token"\n'
                                       'serve-password-file = "form"\nreconnect = 0\nopen-timeout = 2\n[[camera]]\n'
                                       'source = "rtsp://admin@127.0.0.1:9/s"\npassword-file = "yard-password"\n')
    warnings = [f"box.toml:3: serve-token-file: {tmp_path / 'serve-token'} holds a secret but every user of this "
                f"machine can read it (mode 0644): chmod 600 {tmp_path / 'serve-token'}",
                f"box.toml:9: password-file: {tmp_path / 'yard-password'} holds a secret but every user",
                f"--serve-password-file: {tmp_path / 'form'} holds a secret but every user of this machine can read "
                f"it (mode 0644): chmod 600 {tmp_path / 'form'}"]
    env = headless_env(CREDENTIALS_DIRECTORY=str(tmp_path))
    for run in (run_cli("--config", "box.toml", "--check", cwd=tmp_path, env=env),
                run_cli("--config", "box.toml", cwd=tmp_path, env=env, timeout=60)):
        assert all(warning in run.stderr for warning in warnings), run.stderr
        assert not any(secret in run.stdout + run.stderr for secret in ("token-of-the-box", SECRET, "form-password"))
    for name in ("serve-token", "yard-password", "form"):
        (tmp_path / name).chmod(0o600)
    check = run_cli("--config", "box.toml", "--check", cwd=tmp_path, env=env)
    assert check.returncode == 0 and check.stderr == "", check.stderr


def test_a_run_never_prints_the_password_of_its_credential(tmp_path: Path) -> None:
    (tmp_path / "yard-password").write_text(SECRET + "\n")
    (tmp_path / "box.toml").write_text('provider = "cpu"\nreconnect = 0\nopen-timeout = 2\n[[camera]]\n'
                                       'source = "rtsp://admin@127.0.0.1:9/s"\npassword-file = "yard-password"\n')
    run = run_cli("--config", "box.toml", cwd=tmp_path, timeout=60)
    assert_clean_error(run, "cannot open stream rtsp://admin:***@127.0.0.1:9/s")
    assert SECRET not in run.stdout + run.stderr


def test_each_camera_runs_with_its_own_keys(video_file: Path, tmp_path: Path) -> None:
    """Two cameras with their own min-confidence and record: each camera's JSON lines follow its
    own threshold, and each camera records into its own file."""
    (tmp_path / "box.toml").write_text(
        f'provider = "cpu"\nheadless = true\njsonl = "p.jsonl"\nmin-confidence = 0.5\n\n'
        f'[[camera]]\nname = "strict"\nsource = "{video_file}"\nmin-confidence = 0.999\nrecord = "strict.avi"\n\n'
        f'[[camera]]\nname = "lenient"\nsource = "{video_file}"\nmin-confidence = 0.0001\nrecord = "lenient.mp4"\n')
    run = run_cli("--config", "box.toml", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "differs between cameras" not in run.stderr
    rows = [json.loads(line) for line in (tmp_path / "p.jsonl").read_text().splitlines()]
    by_camera = {name: [row["unknown"] for row in rows if row["camera"] == name] for name in ("strict", "lenient")}
    assert len(by_camera["strict"]) == len(by_camera["lenient"]) == 60, run.stderr
    assert all(by_camera["strict"]) and not any(by_camera["lenient"])
    assert count_frames(tmp_path / "strict.avi") == 60 and count_frames(tmp_path / "lenient.mp4") == 60
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix in (".avi", ".mp4")) == ["lenient.mp4", "strict.avi"]
