"""``--config box.toml``: the file read as the flags' tokens, every problem one line naming the file
and line, ``${VAR}`` and ``-file`` secrets, and ``--check`` showing the result with no secret in it."""
from __future__ import annotations

import textwrap
from argparse import Namespace
from pathlib import Path

import pytest

from live_classify.cli.config_check import render, shown_camera, shown_top
from live_classify.cli.config_file import CameraConfig, ConfigFile, resolve
from live_classify.cli.config_keys import Entry, vocabulary
from live_classify.cli.config_toml import ConfigError, exposed, scan_lines, scrub
from live_classify.cli.flags import build_parser
from live_classify.cli.main import main

TWO_CAMERAS = """\
    # a box with two cameras
    model = "m.onnx"
    min-confidence = 0.5
    headless = true
    retain = ["50GB", "7d"]

    [[camera]]
    name = "door"
    camera = 0
    min-confidence = 0.7

    [[camera]]
    name = "yard"
    source = "rtsp://admin@10.0.0.5/stream"
    """


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every file here is box.toml in the current directory, as messages name it."""
    monkeypatch.chdir(tmp_path)


def box(text: str) -> str:
    Path("box.toml").write_text(textwrap.dedent(text))
    return "box.toml"


def read(text: str, *argv: str, env: dict[str, str] | None = None) -> ConfigFile:
    return resolve(box(text), ["--config", "box.toml", *argv], env or {})


def refused(text: str, *argv: str, env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as error:
        read(text, *argv, env=env)
    return str(error.value)


# The vocabulary: the flags' names, their types, their messages.

def test_keys_are_the_flags_and_become_their_tokens() -> None:
    config = read("""\
        min_confidence = 0.5
        headless = true
        realtime = false
        retain = ["50GB", "7d"]
        serve = 8080
        cuda-graph = false
        top-k = 3
        [[camera]]
        source = "clip.mp4"
        """)
    assert config.argv[:7] == ["--min-confidence=0.5", "--headless", "--retain=50GB", "--retain=7d", "--serve=8080",
                               "--no-cuda-graph", "--top-k=3"]
    args = config.cameras[0].args
    assert (args.min_confidence, args.headless, args.realtime, args.top_k) == (0.5, True, False, 3)
    assert args.retain == [("size", 50e9), ("age", 7 * 86400.0)] and args.cuda_graph is False
    assert args.serve.port == 8080 and args.source == ["clip.mp4"]


def test_serve_true_is_the_flag_alone() -> None:
    args = read('serve = true\n[[camera]]\nsource = "a.mp4"\n').cameras[0].args
    assert str(args.serve) == "127.0.0.1:8080"


def test_an_unknown_key_names_its_line_and_the_near_miss() -> None:
    text = "headless = true\n\n\n\n\n\nsegmnet = \"10m\"\n[[camera]]\nsource = \"a.mp4\"\n"
    assert refused(text) == "box.toml:7: unknown key 'segmnet' (did you mean 'segment'?)"
    assert refused("[[camera]]\nsource = \"a.mp4\"\nfsp = 5\n") == "box.toml:3: unknown key 'fsp' (did you mean 'fps'?)"
    assert refused("zzz = 1\n") == "box.toml:1: unknown key 'zzz'"


def test_a_wrong_value_is_the_flags_own_message_with_the_key_and_line() -> None:
    assert refused('model = "m"\n\nmin-confidence = "high"\n') == \
        'box.toml:3: min-confidence must be a number between 0 and 1, not "high"'
    assert refused("smooth = 1.5\n") == "box.toml:1: smooth must be a number between 0 and 1, not 1.5"
    assert refused("width = 0\n") == "box.toml:1: width must be a whole number, 1 or more, not 0"
    assert refused('segment = "10 minutes"\n') == \
        'box.toml:1: segment must be a duration such as 30s, 10m, 2h or 7d, not "10 minutes"'
    assert refused('rtsp-transport = "http"\n').startswith("box.toml:1: rtsp-transport: invalid choice: 'http'")
    assert refused('headless = "yes"\n') == 'box.toml:1: headless is true or false, not "yes"'
    assert refused("top-k = [1, 2]\n") == "box.toml:1: top-k takes one value, not an array"
    assert refused("top-k = true\n") == "box.toml:1: top-k takes a value, not true"
    assert refused("[[camera]]\nsource = \"a.mp4\"\nname = \"a b\"\n").startswith("box.toml:3: name: a camera name is")


def test_keys_that_exclude_each_other_name_the_second_line() -> None:
    assert refused("json = true\n# a comment\ntrace = true\n") == "box.toml:3: trace: not allowed with 'json'"


def test_a_key_given_twice_in_two_spellings() -> None:
    assert refused("min_confidence = 0.3\nmin-confidence = 0.4\n") == \
        "box.toml:2: min-confidence is given twice (also box.toml:1)"


def test_toml_syntax_and_a_missing_file() -> None:
    assert refused("headless = true\ntop-k = [1,\n").startswith("box.toml:2: not valid TOML: ")
    assert refused("headless = tru\n").startswith("box.toml:1: not valid TOML: invalid value")
    with pytest.raises(ConfigError, match=r"^nowhere.toml: cannot read the configuration: No such file"):
        resolve("nowhere.toml", [], {})


# Cameras.

def test_two_cameras_with_one_name() -> None:
    text = '[[camera]]\nname = "door"\ncamera = 0\n\n[[camera]]\nname = "door"\nsource = "a.mp4"\n'
    assert refused(text) == "box.toml:6: two cameras are named 'door' (also box.toml:2)"


def test_a_camera_needs_a_camera_or_a_source_not_both() -> None:
    text = '[[camera]]\nsource = "a.mp4"\n\n[[camera]]\nname = "x"\n'
    assert refused(text) == 'box.toml:4: a [[camera]] needs camera = N or source = "URI"'
    text = '[[camera]]\nsource = "a.mp4"\ncamera = 0\n'
    assert refused(text) == 'box.toml:1: a [[camera]] needs either camera = N or source = "URI", not both'


def test_keys_in_the_wrong_table() -> None:
    message = refused('[[camera]]\nsource = "a.mp4"\njsonl = "-"\n')
    assert message.startswith("box.toml:3: 'jsonl' cannot be set per camera: put it at the top level (per camera: ")
    assert refused('headless = true\nsource = "a.mp4"\n') == "box.toml:2: 'source' belongs in a [[camera]] table"
    brackets = "box.toml:1: write each camera as a [[camera]] table (two brackets)"
    assert refused('[camera]\nsource = "a.mp4"\n') == brackets
    assert refused('[camera.x]\nfps = 1\n') == brackets
    assert refused('[mqtt]\nqos = 1\n') == "box.toml:1: mqtt takes a value, not a table"
    assert refused("headless = true\n") == \
        'box.toml: no camera: add a [[camera]] table with camera = N or source = "URI"'


def test_lines_are_found_for_quoted_keys_tables_and_arrays() -> None:
    lines = scan_lines('a = 1\n"b" = [\n  "c = 2",\n]\n[[camera]]\n  d=3\n[[camera]]\n[other]\ne = 1\n')
    assert lines.keys == {(-1, "a"): 1, (-1, "b"): 2, (0, "d"): 6, (-1, "other"): 8, (-2, "e"): 9}
    assert lines.cameras == [5, 7]


# Overrides: a flag, then the camera's key, then the top level, then the default.

def test_a_flag_beats_the_camera_which_beats_the_top_level_which_beats_the_default() -> None:
    config = read(TWO_CAMERAS)
    door, yard = config.cameras
    assert (door.args.min_confidence, yard.args.min_confidence) == (0.7, 0.5)
    assert shown_camera(config, 0)["min-confidence"] == (0.7, "box.toml:10")
    assert shown_camera(config, 1)["min-confidence"] == (0.5, "box.toml:3")
    assert shown_camera(config, 1)["smooth"] == (1.0, "default") and yard.args.smooth == 1.0
    config = read(TWO_CAMERAS, "--min-confidence", "0.9")
    assert config.warnings == []  # the cameras' own values differ, but the flag overrides them all
    door, yard = config.cameras
    assert (door.args.min_confidence, yard.args.min_confidence) == (0.9, 0.9)
    assert shown_camera(config, 0)["min-confidence"] == shown_camera(config, 1)["min-confidence"] == ("0.9", "flag")


def test_a_flag_replaces_a_repeated_key_and_excludes_its_rival() -> None:
    config = read('retain = ["50GB"]\nverbose = true\n[[camera]]\nsource = "a.mp4"\n', "--retain", "7d", "--quiet")
    assert config.cameras[0].args.retain == [("age", 7 * 86400.0)]
    assert config.cameras[0].args.quiet and not config.cameras[0].args.verbose
    assert shown_top(config)["retain"] == (["7d"], "flag") and shown_top(config)["verbose"] == (False, "default")


def test_the_flags_cameras_replace_the_files() -> None:
    config = read(TWO_CAMERAS, "--source", "b.mp4", "--name", "b")
    assert [shown_camera(config, 0)["name"], shown_camera(config, 0)["source"]] == [("b", "flag"), ("b.mp4", "flag")]
    assert len(config.cameras) == 1
    assert "--camera=0" not in config.argv and config.warnings == ["box.toml: the cameras of the command line replace "
                                                                  "the file's"]


def test_the_run_takes_per_camera_keys_all_cameras_agree_on_and_each_camera_its_own() -> None:
    config = read('[[camera]]\nsource = "a.mp4"\nsmooth = 0.5\n[[camera]]\nsource = "b.mp4"\nsmooth = 0.5\n')
    assert "--smooth=0.5" in config.argv and config.warnings == [] and config.args.smooth == 0.5
    config = read(TWO_CAMERAS)  # door has its own min-confidence, yard not: the run's flags take the top level's
    assert config.argv == ["--model=m.onnx", "--min-confidence=0.5", "--headless", "--retain=50GB", "--retain=7d",
                           "--camera=0", "--name=door", "--source=rtsp://admin@10.0.0.5/stream", "--name=yard",
                           "--config", "box.toml"]
    assert config.warnings == [] and config.args.min_confidence == 0.5
    assert [camera.args.min_confidence for camera in config.cameras] == [0.7, 0.5]


def test_a_cameras_event_rules_replace_the_top_levels() -> None:
    config = read('event = ["cup"]\nevent-hold = "2s"\n[[camera]]\nname = "door"\nsource = "a.mp4"\n'
                  'event = ["dog"]\nevent-gap = "5s"\n[[camera]]\nname = "yard"\nsource = "b.mp4"\n')
    door, yard = config.cameras
    assert (door.args.event, door.args.event_hold, door.args.event_gap) == (["dog"], 2.0, 5.0)
    assert (yard.args.event, yard.args.event_hold, yard.args.event_gap) == (["cup"], 2.0, 3.0)
    assert shown_camera(config, 0)["event"] == (["dog"], "box.toml:6")
    assert shown_camera(config, 1)["event"] == (["cup"], "box.toml:1")
    assert shown_camera(config, 0)["event-gap"] == ("5s", "box.toml:7")


def test_cameras_need_agree_only_on_keys_that_mean_something_to_them() -> None:
    """A size is asked only of a USB camera, a transport only of an RTSP stream: the run takes both."""
    config = read('[[camera]]\ncamera = 0\nfourcc = "MJPG"\nwidth = 1280\n'
                  '[[camera]]\nsource = "rtsp://cam/s"\nrtsp-transport = "tcp"\n[[camera]]\nsource = "a.mp4"\n')
    assert config.warnings == []
    assert config.argv[:3] == ["--fourcc=MJPG", "--width=1280", "--rtsp-transport=tcp"]
    config = read('[[camera]]\ncamera = 0\nfps = 5\n[[camera]]\ncamera = 1\n')
    assert "--fps=5" not in config.argv and [c.args.fps for c in config.cameras] == [5.0, None]
    assert config.warnings == []


# ${VAR} and secrets from files.

def test_variables_come_from_the_environment() -> None:
    config = read('[[camera]]\nsource = "rtsp://u:${PW}@cam/s"\nname = "${WHERE}"\n', env={"PW": "pw", "WHERE": "hall"})
    assert config.cameras[0].args.source == ["rtsp://u:pw@cam/s"] and config.cameras[0].name == "hall"
    text = 'headless = true\n\n\n\n[[camera]]\nsource = "rtsp://u:${RTSP_PASSWORD}@cam/s"\n'
    assert refused(text) == "box.toml:6: ${RTSP_PASSWORD} is not set"


def test_a_file_key_reads_its_secret_from_the_credentials_directory(tmp_path: Path) -> None:
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "token").write_text("t0ken-from-systemd\n")
    (credentials / "cam").write_text("p@ss:w/rd\n")
    text = ('serve-token-file = "token"\n[[camera]]\nsource = "rtsp://admin@cam/s"\npassword-file = "cam"\n')
    config = read(text, env={"CREDENTIALS_DIRECTORY": str(credentials)})
    args = config.cameras[0].args
    assert args.serve_token == "t0ken-from-systemd"
    assert args.source == ["rtsp://admin:p%40ss%3Aw%2Frd@cam/s"]


def test_serve_password_file_is_found_in_the_credentials_directory_and_read_by_its_flag(tmp_path: Path) -> None:
    """A flag that names a file itself: the key keeps its name, the file is where the -file keys' are,
    the flag reads it (a missing one is the flag's own error), and --check shows the name, not the password."""
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "web").write_text("a person's password\n")
    text = 'serve = true\nserve-password-file = "web"\n[[camera]]\nsource = "a.mp4"\n'
    config = read(text, env={"CREDENTIALS_DIRECTORY": str(credentials)})
    assert config.args.serve_password_file == credentials / "web"
    assert "a person's password" not in render(config)
    Path("web").write_text("here\n")
    assert read(text).args.serve_password_file == Path("web"), "without systemd: the current directory"
    message = refused(text, env={"CREDENTIALS_DIRECTORY": str(tmp_path / "none")})
    assert message == (f"box.toml:2: serve-password-file: cannot read {tmp_path / 'none' / 'web'}: "
                       "No such file or directory"), message


def test_a_file_key_without_systemd_is_relative_to_the_current_directory() -> None:
    Path("token").write_text("plain\r\n")
    config = read('serve-token-file = "token"\n[[camera]]\nsource = "a.mp4"\n')
    assert config.cameras[0].args.serve_token == "plain"
    message = refused('serve-token-file = "missing"\n[[camera]]\nsource = "a.mp4"\n')
    assert message == "box.toml:1: serve-token-file: cannot read missing: No such file or directory"
    Path("empty").write_text("\n")
    assert refused('serve-token-file = "empty"\n') == "box.toml:1: serve-token-file: empty is empty"
    twice = refused('serve-token = "a"\nserve-token-file = "token"\n')
    assert twice == "box.toml:2: serve-token is given twice (also box.toml:1)"


def test_a_password_file_needs_a_source_url_with_a_user() -> None:
    Path("pw").write_text("secret\n")
    assert refused('[[camera]]\ncamera = 0\npassword-file = "pw"\n') == \
        "box.toml:3: password-file is for a source URL (rtsp://USER@host/...), not a camera"
    assert refused('[[camera]]\nsource = "rtsp://cam/s"\npassword-file = "pw"\n') == \
        "box.toml:3: password-file needs a user in the source URL, e.g. rtsp://USER@host/stream"
    assert refused('password-file = "pw"\n') == "box.toml:1: 'password-file' belongs in a [[camera]] table"


# --check: everything resolved, where it came from, no secret.

SECRETS = {"PW": "pa55-in-env", "TOKEN": "t0k3n-in-env"}


def checked(capsys: pytest.CaptureFixture[str], text: str, *argv: str) -> str:
    box(text)
    assert main(["--config", "box.toml", "--check", *argv]) == 0
    out, err = capsys.readouterr()
    assert not any(secret in out + err for secret in [*SECRETS.values(), "c4m-file-pw", "c4m-file-pw".replace("-", "")])
    return out


def test_check_prints_every_key_with_its_origin_and_no_secret(capsys: pytest.CaptureFixture[str],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    Path("cam").write_text("c4m-file-pw\n")
    out = checked(capsys, """\
        serve-token = "${TOKEN}"
        mqtt = "mqtt://bob:${PW}@broker/home"
        headless = true
        [[camera]]
        name = "door"
        source = "rtsp://admin@cam/s"
        password-file = "cam"
        [[camera]]
        name = "yard"
        source = "rtsp://u:${PW}@cam2/s"
        fps = 5
        """, "--top-k", "3")
    lines = out.splitlines()
    assert 'serve-token = "***"' in out and '"mqtt://bob:***@broker/home"' in out
    assert any(line.startswith("headless = true") and line.endswith("# box.toml:3") for line in lines)
    assert any(line.startswith("top-k = \"3\"") and line.endswith("# flag") for line in lines)
    assert any(line.startswith("smooth = 1.0") and line.endswith("# default") for line in lines)
    assert any(line.startswith('source = "rtsp://admin:***@cam/s"') and line.endswith("# box.toml:6") for line in lines)
    assert any(line.startswith('source = "rtsp://u:***@cam2/s"') and line.endswith("# box.toml:10") for line in lines)
    assert any(line.startswith("fps = 5") and line.endswith("# box.toml:11") for line in lines)
    assert out.count("[[camera]]") == 2


def test_check_output_is_toml_that_reads_back() -> None:
    import tomllib

    shown = tomllib.loads(render(read(TWO_CAMERAS)))
    assert shown["min-confidence"] == 0.5 and shown["headless"] is True and shown["retain"] == ["50GB", "7d"]
    assert [camera["name"] for camera in shown["camera"]] == ["door", "yard"]
    assert shown["camera"][0]["min-confidence"] == 0.7 and "fps" not in shown["camera"][0]


def test_no_secret_in_an_error_either(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PW", "bad pass!")
    message = refused('[[camera]]\nsource = "rtsp://u:${PW}@cam/s"\nname = "${PW}"\n', env={"PW": "bad pass!"})
    assert "bad pass" not in message and message.startswith("box.toml:3: name: ")


def test_a_problem_found_after_parsing_names_the_files_line(capsys: pytest.CaptureFixture[str]) -> None:
    """The same checks as for typed flags, named by the line when the file gave the flag."""
    box('headless = true\nsegment = "10m"\nrecord = "r.mp4"\n[[camera]]\nsource = "a.mp4"\n')
    with pytest.raises(SystemExit) as stop:
        main(["--config", "box.toml"])
    assert stop.value.code == 2
    assert capsys.readouterr().err.startswith("live-classify: error: box.toml:2: segment needs a directory to write "
                                              "segments in: --record DIR/")
    with pytest.raises(SystemExit) as stop:
        main(["--config", "box.toml", "--segment", "5m"])  # typed: the flag's own words
    assert capsys.readouterr().err.startswith("live-classify: error: --segment needs a directory")


def test_a_value_out_of_bounds_says_what_the_flag_takes_on_the_command_line_too(
        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["--source", "a.mp4", "--min-confidence", "high"])
    assert stop.value.code == 2
    assert capsys.readouterr().err == ('live-classify: error: --min-confidence must be a number between 0 and 1, '
                                       'not "high" (see --help)\n')


def test_check_needs_a_file_and_a_bad_file_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["--source", "a.mp4", "--check"])
    assert stop.value.code == 2
    assert capsys.readouterr().err == \
        "live-classify: error: --check needs --config FILE (it checks a configuration file)\n"
    box("segmnet = 1\n")
    with pytest.raises(SystemExit) as stop:
        main(["--config", "box.toml", "--check"])
    assert stop.value.code == 2
    assert capsys.readouterr().err == \
        "live-classify: error: box.toml:1: unknown key 'segmnet' (did you mean 'segment'?)\n"


def test_check_hides_a_url_password_by_itself() -> None:
    """The URL masking alone (no known secret to scrub): a password typed in --source."""
    camera = CameraConfig(None, [Entry("source", "rtsp://u:typed-pw@cam/s", [], "flag", "source")], Namespace())
    out = render(ConfigFile("box.toml", [], [], [camera], Namespace(), {"serve_token": "tok"},
                            vocabulary(build_parser())))
    assert 'source = "rtsp://u:***@cam/s"' in out and 'serve-token = "***"' in out
    assert "typed-pw" not in out and "tok\"" not in out


def test_check_scrubs_every_known_secret_wherever_it_shows() -> None:
    """The last guard: a secret the masking did not expect (here a -file key's value) is still ***."""
    entry = Entry("collect", "hunter2", ["--collect=hunter2"], "box.toml:1", "collect")
    config = ConfigFile("box.toml", [], [entry], [], Namespace(), {}, vocabulary(build_parser()), secrets=["hunter2"])
    assert 'collect = "***"' in render(config) and "hunter2" not in render(config)
    assert scrub("a p@ss:w b p%40ss%3Aw", ["p@ss:w"]) == "a *** b ***"


@pytest.mark.parametrize("mode, warned", [(0o600, False), (0o640, False), (0o604, True), (0o644, True)])
def test_a_secret_file_is_warned_of_exactly_when_every_user_can_read_it(mode: int, warned: bool,
                                                                        tmp_path: Path) -> None:
    """Readable by its group only (a service's own group) is not every user; the others' read bit is."""
    secret = tmp_path / "token"
    secret.write_text("s3cret\n")
    secret.chmod(mode)
    said = exposed(secret)
    assert (said is not None) == warned, said
    if warned:
        assert said == f"{secret} holds a secret but every user of this machine can read it (mode {mode:04o}): " \
                       f"chmod 600 {secret}"
