"""The MQTT broker as the user names it and as the connection finds it: ``--mqtt``'s URL and
``--mqtt-ca``'s file read (a bad one is a :class:`BadValue`), and why a connection failed, in one line.

No paho here: the command line reads these without loading the client.
"""
from __future__ import annotations

import ssl
from pathlib import Path
from urllib.parse import unquote, urlsplit

from live_classify.config import BrokerUrl
from live_classify.errors import BadValue
from live_classify.redact import redact

DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}
KEEPALIVE_S = 15  # paho pings the broker when idle this long, and gives up after as long again without an answer

# OpenSSL's verify codes, as a person would say them (the rest: OpenSSL's own words).
UNTRUSTED = {2, 18, 19, 20, 21, 27}  # no trusted CA signed it (self-signed, unknown issuer, ...)
CERTIFICATE_PROBLEMS = {9: "it is not valid yet (is this box's clock right?)", 10: "it has expired",
                        62: "it names another host, not {host}", 64: "it names another host, not {host}"}


def broker_url(text: str) -> BrokerUrl:
    """``--mqtt``'s URL: a bad one is a :class:`BadValue` (a usage error, exit 2), the password never shown."""
    def bad(why: str) -> BadValue:
        return BadValue(f"{why}: {redact(text)!r} (give mqtt[s]://[user:pass@]host[:port]/prefix, "
                        "e.g. mqtt://broker.lan/home/cameras)")

    try:
        parts = urlsplit(text)
        port = parts.port or DEFAULT_PORTS.get(parts.scheme.lower())
    except ValueError:
        raise bad("not a URL with a port from 1 to 65535") from None
    if port is None:
        raise bad("only mqtt:// and mqtts:// (TLS) are supported")
    if not parts.hostname:
        raise bad("no broker host")
    prefix = parts.path.strip("/")
    if "?" in text:
        raise bad("a query (?...) has no meaning in an MQTT URL")
    if any(c in prefix for c in "+#\0") or "#" in text:
        raise bad("the topic prefix cannot hold + or # (MQTT's wildcards)")
    if not prefix:
        raise bad("no topic prefix after the host")
    user = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    return BrokerUrl(text, parts.hostname, port, prefix, user, password, tls=parts.scheme.lower() == "mqtts")


def ca_file(text: str) -> Path:
    """``--mqtt-ca``: a file of PEM certificates that loads, else a :class:`BadValue` (exit 2)."""
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=text)
    except ssl.SSLError:
        raise BadValue(f"no PEM certificate in {text}: give the CA that signed the broker's certificate") from None
    except OSError as error:
        raise BadValue(f"cannot read {text}: {error.strerror}") from None
    return Path(text)


def connect_problem(error: BaseException | None, broker: BrokerUrl, ca: Path | None) -> str:
    """One line for a connection that failed: the broker's certificate refused, TLS that did not
    start, or no broker there."""
    if isinstance(error, ssl.SSLCertVerificationError):
        return certificate_problem(error, broker, ca)
    if broker.tls and isinstance(error, (ssl.SSLError, ConnectionResetError)):
        reason = getattr(error, "reason", None) or error.strerror or str(error)  # e.g. WRONG_VERSION_NUMBER
        return (f"no TLS connection to MQTT broker {broker}: {reason.lower().replace('_', ' ')} "
                "(is the port a TLS listener?)")
    why = error.strerror if isinstance(error, OSError) and error.strerror else "connection refused or timed out"
    return f"cannot reach MQTT broker {broker}: {why.lower()}"


def disconnect_reason(flags, reason_code) -> str:  # noqa: ANN001 - paho's DisconnectFlags and ReasonCode
    """Why paho lost the broker, in words: paho says "Unspecified error" for a connection closed or
    reset; only a broker's own DISCONNECT (MQTT 5) carries a reason of its own."""
    if flags.is_disconnect_packet_from_server:
        return f"the broker ended the connection: {reason_code}"
    if reason_code == "Keep alive timeout":
        return f"no answer from the broker for {KEEPALIVE_S} s"
    return "connection closed: the broker stopped, or the network between is down"


def certificate_problem(error: ssl.SSLCertVerificationError, broker: BrokerUrl, ca: Path | None) -> str:
    """Which check refused the broker's certificate, as a person would say it."""
    code = error.verify_code
    if code in UNTRUSTED:
        trusted = f"the CA in {ca}" if ca else "this system's CAs (--mqtt-ca FILE names the broker's CA)"
        why = f"it is not signed by {trusted}"
    else:
        why = CERTIFICATE_PROBLEMS.get(code, error.verify_message).replace("{host}", broker.host)
    return f"MQTT broker {broker} has a certificate this box does not trust: {why}"
