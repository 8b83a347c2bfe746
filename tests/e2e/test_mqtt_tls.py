"""``--mqtt mqtts://``: MQTT over TLS to a real mosquitto with a TLS listener, its CA and certificates
made here with the ``openssl`` command; each certificate this box must not trust is one line."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import assert_clean_error, run_cli
from mqtt_broker import MOSQUITTO, Broker, ServerCertificate, Subscriber, free_port

OPENSSL = shutil.which("openssl")
if (MOSQUITTO is None or OPENSSL is None) and os.environ.get("CI"):
    raise RuntimeError("CI must install mosquitto and openssl (.ci/run does)")
pytestmark = pytest.mark.skipif(MOSQUITTO is None or OPENSSL is None,
                                reason="needs mosquitto and openssl: apt-get install mosquitto openssl")

NEW_KEY = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")  # quick to make


def openssl(*args: str | Path) -> None:
    subprocess.run([OPENSSL, *map(str, args)], check=True, capture_output=True)


def new_ca(folder: Path, name: str) -> tuple[Path, Path]:
    """A self-signed CA: its certificate and key."""
    cert, key = folder / f"{name}.crt", folder / f"{name}.key"
    openssl("req", "-x509", *NEW_KEY, "-keyout", key, "-out", cert, "-days", "2", "-subj", f"/CN={name}")
    return cert, key


def server_certificate(folder: Path, ca: tuple[Path, Path], name: str, names: str, days: int = 2) -> ServerCertificate:
    """A broker certificate signed by ``ca`` for the ``subjectAltName`` ``names``; ``days=-1``: expired."""
    key, request, extensions = folder / f"{name}.key", folder / f"{name}.csr", folder / f"{name}.ext"
    openssl("req", *NEW_KEY, "-keyout", key, "-out", request, "-subj", "/CN=broker")
    extensions.write_text(f"subjectAltName={names}\n")
    openssl("x509", "-req", "-in", request, "-CA", ca[0], "-CAkey", ca[1], "-set_serial", "1", "-days", str(days),
            "-extfile", extensions, "-out", folder / f"{name}.crt")
    return ServerCertificate(ca[0], folder / f"{name}.crt", key)


@dataclass(frozen=True)
class Certificates:
    right: ServerCertificate  # for 127.0.0.1 and localhost
    other_host: ServerCertificate  # for broker.example only
    expired: ServerCertificate
    other_ca: Path  # a CA that signed none of them


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    folder = tmp_path_factory.mktemp("tls")
    ca = new_ca(folder, "test-ca")
    return Certificates(server_certificate(folder, ca, "right", "IP:127.0.0.1,DNS:localhost"),
                        server_certificate(folder, ca, "other-host", "DNS:broker.example"),
                        server_certificate(folder, ca, "expired", "IP:127.0.0.1", days=-1),
                        new_ca(folder, "other-ca")[0])


@contextmanager
def started(folder: Path, certificate: ServerCertificate) -> Iterator[Broker]:
    """A broker whose TLS listener shows ``certificate``."""
    broker = Broker(folder, tls=certificate)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def broker(tmp_path: Path, certificates: Certificates) -> Iterator[Broker]:
    with started(tmp_path, certificates.right) as server:
        yield server


def test_messages_arrive_over_tls_with_the_ca_given(live_cli, camera, broker, certificates) -> None:
    subscriber = Subscriber(broker.port)  # on the broker's plain listener; the command on its TLS one
    try:
        url = broker.tls_url("localhost").replace("mqtts://", "mqtts://me:s3cret@")
        cli = live_cli("--source", camera.url, "--provider", "cpu", "--jsonl", os.devnull, "--mqtt", url,
                       "--mqtt-ca", str(certificates.right.ca), "--mqtt-required")
        cli.wait_for_stderr("publishing to MQTT broker mqtts://me:***@localhost")
        assert subscriber.next("/prediction")["top"][0]["label"] in {"tiger cat", "tabby", "Egyptian cat"}
        assert subscriber.next("/status", where=lambda p: p["state"] == "online")["classified"] >= 1
        cli.signal(signal.SIGINT)
        run = cli.finish()
        assert run.returncode == 0 and "s3cret" not in run.stderr
        assert subscriber.next("/status", where=lambda p: p["state"] == "offline")["published"] >= 2
    finally:
        subscriber.close()


def test_a_ca_that_did_not_sign_the_certificate_is_a_warning_and_the_run_goes_on(live_cli, camera, broker,
                                                                                 certificates) -> None:
    cli = live_cli("--source", camera.url, "--provider", "cpu", "--jsonl", "-", "--mqtt", broker.tls_url(),
                   "--mqtt-ca", str(certificates.other_ca))
    cli.wait_for_stderr("the run goes on")
    cli.wait_for(lambda: len(cli.stdout_lines) >= 3, what="JSON lines despite the broker")
    cli.signal(signal.SIGINT)
    run = cli.finish()
    assert run.returncode == 0 and "Traceback" not in run.stderr
    about_it = [line for line in run.stderr.splitlines() if "certificate" in line]
    assert len(about_it) == 1 and f"not signed by the CA in {certificates.other_ca}" in about_it[0]


@pytest.mark.parametrize("served, given_ca, why", [
    ("right", "other_ca", "it is not signed by the CA in"),
    ("right", None, "it is not signed by this system's CAs (--mqtt-ca FILE names the broker's CA)"),
    ("other_host", "right", "it names another host, not 127.0.0.1"),
    ("expired", "right", "it has expired"),
])
def test_a_certificate_not_to_trust_is_one_line_and_with_required_exit_1(tmp_path, video_file, certificates,
                                                                           served: str, given_ca: str | None,
                                                                           why: str) -> None:
    """``served``: the broker's certificate; ``given_ca``: the CA given to --mqtt-ca (None: the system's)."""
    certificate = getattr(certificates, served)
    ca_file = certificates.other_ca if given_ca == "other_ca" else certificate.ca
    ca = [] if given_ca is None else ["--mqtt-ca", str(ca_file)]
    with started(tmp_path, certificate) as broker:
        url = broker.tls_url().replace("mqtts://", "mqtts://me:s3cret@")
        run = run_cli("--source", str(video_file), "--provider", "cpu", "--jsonl", "-", "--mqtt", url, *ca,
                      "--mqtt-required")
        assert_clean_error(run, "has a certificate this box does not trust: " + why)
        assert run.returncode == 1 and "s3cret" not in run.stderr


def test_a_plain_listener_named_mqtts_is_one_line(video_file, broker, certificates) -> None:
    run = run_cli("--source", str(video_file), "--provider", "cpu", "--jsonl", "-", "--mqtt-required",
                  "--mqtt", f"mqtts://127.0.0.1:{broker.port}/p", "--mqtt-ca", str(certificates.right.ca))
    assert_clean_error(run, "no TLS connection to MQTT broker", "is the port a TLS listener?")


@pytest.mark.parametrize("problem", ["missing", "not PEM"])
def test_a_ca_file_that_cannot_be_used_is_exit_2(tmp_path: Path, problem: str) -> None:
    ca = tmp_path / "ca.pem"
    if problem == "not PEM":
        ca.write_text("not a certificate\n")
    run = run_cli("--camera", "0", "--mqtt", "mqtts://h/p", "--mqtt-ca", str(ca))
    assert_clean_error(run, "--mqtt-ca", str(ca))
    assert run.returncode == 2


def test_a_ca_without_mqtts_is_a_warning(certificates) -> None:
    run = run_cli("--camera", "7", "--mqtt", f"mqtt://127.0.0.1:{free_port()}/p", "--mqtt-ca",
                  str(certificates.right.ca))
    assert "warning: --mqtt-ca does nothing without mqtts:// (MQTT over TLS)" in run.stderr
    run = run_cli("--camera", "7", "--mqtt-ca", str(certificates.right.ca))
    assert "warning: --mqtt-ca does nothing without --mqtt" in run.stderr
