"""The pieces of ``--serve-users`` alone: scrypt hashes in the PHC format, the users file checked
whole (each mistake one line that never quotes a password), the sessions a reload ends, and the
Origin/Referer check that keeps other sites' pages from changing anything."""
from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp.test_utils import make_mocked_request

from live_classify.config import WebUser
from live_classify.errors import BadValue
from live_classify.sinks.web.auth import Guard
from live_classify.sinks.web.passwords import BadHash, check_password, hash_password, parse
from live_classify.sinks.web.safe_changes import same_site
from live_classify.sinks.web.users import read_users

HASH = hash_password("correct horse")
OTHER = hash_password("battery staple")


def test_a_hash_checks_its_own_password_only_and_says_how_it_was_made() -> None:
    assert check_password("correct horse", HASH)
    assert not check_password("correct hors", HASH) and not check_password("", HASH)
    assert HASH.startswith("$scrypt$ln=15,r=8,p=1$") and "correct" not in HASH
    assert hash_password("correct horse") != HASH, "a fresh salt each time"
    log_n, r, p, salt, digest = parse(HASH)
    assert (log_n, r, p, len(salt), len(digest)) == (15, 8, 1, 16, 32)


def test_a_hash_made_with_other_settings_is_still_checked_with_them() -> None:
    import base64
    import hashlib

    salt = b"0123456789abcdef"
    digest = hashlib.scrypt(b"pw", salt=salt, n=1 << 10, r=4, p=2, dklen=24)
    b64 = lambda data: base64.b64encode(data).decode().rstrip("=")  # noqa: E731
    assert check_password("pw", f"$scrypt$ln=10,r=4,p=2${b64(salt)}${b64(digest)}")


@pytest.mark.parametrize(("value", "why"), [
    ("hunter2", "plain-text password"),
    ("$2b$12$abcdefghijklmnopqrstuv", "not an scrypt hash"),
    ("$scrypt$ln=40,r=8,p=1$MDEyMzQ1Njc4OWFiY2RlZg$MDEyMzQ1Njc4OWFiY2RlZg", "out of range"),
    ("$scrypt$ln=15,r=8,p=1$YWI$MDEyMzQ1Njc4OWFiY2RlZg", "salt under 8 bytes"),
])
def test_a_bad_hash_says_why_without_quoting_it(value: str, why: str) -> None:
    with pytest.raises(BadHash, match=why) as caught:
        parse(value)
    assert value not in str(caught.value)
    assert not check_password("hunter2", value)


def users_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "users.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_users_file_is_read_with_roles_and_cameras(tmp_path: Path) -> None:
    path = users_file(tmp_path, f'[[user]]\nname = "ana"\npassword-hash = "{HASH}"\nrole = "admin"\n\n[[user]]\n'
                                f'name = "bo"\npassword-hash = "{OTHER}"\nrole = "viewer"\ncameras = ["door"]\n')
    assert read_users(path) == (WebUser("ana", HASH, "admin", None), WebUser("bo", OTHER, "viewer", ("door",)))


@pytest.mark.parametrize(("entries", "said"), [
    ('name = "ana"\npassword-hash = "hunter2"\nrole = "admin"',
     "user 'ana': password-hash is not a hash (a plain-text"),
    (f'name = "ana"\npassword-hash = "{HASH}"\nrole = "root"',
     "user 'ana': role must be \"admin\" or \"viewer\", not 'root'"),
    (f'name = "ana"\npassword-hash = "{HASH}"\nrole = "admin"\n[[user]]\nname = "ana"\npassword-hash = "{HASH}"\n'
     'role = "viewer"', "user 'ana' is given twice"),
    (f'name = "ana"\npassword = "hunter2"\npassword-hash = "{HASH}"\nrole = "admin"', "unknown key 'password'"),
    ('name = "ana"\nrole = "admin"', "password-hash is missing"),
    (f'name = "bo"\npassword-hash = "{HASH}"\nrole = "viewer"\ncameras = "door"', "cameras must be a list"),
])
def test_each_mistake_in_a_users_file_is_one_line_naming_the_user(tmp_path: Path, entries: str, said: str) -> None:
    path = users_file(tmp_path, f"[[user]]\n{entries}\n")
    with pytest.raises(BadValue) as caught:
        read_users(path)
    message = str(caught.value)
    assert said in message and message.startswith(str(path)) and "\n" not in message
    assert "hunter2" not in message


def test_a_users_file_without_users_or_not_toml_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BadValue, match="one \\[\\[user\\]\\] table per person"):
        read_users(users_file(tmp_path, "# nobody\n"))
    with pytest.raises(BadValue, match="not TOML"):
        read_users(users_file(tmp_path, "[[user]\n"))


def test_a_reload_ends_the_sessions_of_users_removed_or_given_a_new_password_only() -> None:
    ana, bo, cy = (WebUser("ana", HASH, "admin"), WebUser("bo", HASH, "viewer", ("door",)),
                   WebUser("cy", HASH, "viewer"))
    guard = Guard(None, None, (ana, bo, cy))
    sessions = {name: guard.sessions.start(name) for name in ("ana", "bo", "cy")}
    by_token = guard.sessions.start(None)
    guard.set_users((ana, WebUser("cy", OTHER, "viewer")))  # bo removed, cy's password changed
    assert [name for name, s in sessions.items() if guard.sessions.valid(s)] == ["ana"]
    assert guard.sessions.valid(by_token), "a login with the token is nobody's in the file"
    assert guard.user_accepts("ana", "correct horse") and not guard.user_accepts("ana", "battery staple")
    assert not guard.user_accepts("bo", "correct horse"), "removed"


@pytest.mark.parametrize(("headers", "same"), [
    ({}, True),  # no browser's page: a script
    ({"Origin": "http://box:8080"}, True),
    ({"Origin": "http://evil.example"}, False),
    ({"Origin": "http://box:8081"}, False),
    ({"Origin": "null"}, False),
    ({"Referer": "http://box:8080/history"}, True),
    ({"Referer": "https://evil.example/box:8080"}, False),
    ({"Origin": "https://box.example", "X-Forwarded-Host": "box.example"}, True),
])
def test_a_change_is_from_this_site_only_when_its_origin_or_referer_names_it(headers: dict[str, str],
                                                                              same: bool) -> None:
    request = make_mocked_request("POST", "/api/x", headers={"Host": "box:8080", **headers})
    assert same_site(request) is same
