"""Where ``--backend`` runs the model: a Triton server's URL, read (a bad one is a :class:`BadValue`).

No tritonclient, no onnxruntime here: the command line reads it without loading either.
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from live_classify.errors import BadValue

GRPC, HTTP = "gRPC", "HTTP"
#: URL scheme -> (protocol, Triton's default port for it)
SCHEMES = {"triton": (GRPC, 8001), "triton+grpc": (GRPC, 8001), "triton+http": (HTTP, 8000)}
URL_FORM = "triton://HOST[:PORT]/MODEL (gRPC) or triton+http://HOST[:PORT]/MODEL"


@dataclass(frozen=True)
class TritonTarget:
    """Where the model runs: ``--backend triton://host:8001/MODEL``."""

    protocol: str  # GRPC or HTTP
    host: str
    port: int
    model: str

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def describe(self) -> str:
        """E.g. 'Triton at 10.0.0.5:8001'."""
        return f"Triton at {self.address}"


def backend_url(text: str) -> TritonTarget:
    """``--backend``'s value: a bad URL is a :class:`BadValue` (a bad command line, exit 2)."""
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as error:
        raise BadValue(f"bad URL {text!r}: {error}") from None
    scheme = parts.scheme.lower()
    model = parts.path.strip("/")
    if scheme not in SCHEMES or not parts.hostname or not model or "/" in model or parts.query or parts.username:
        raise BadValue(f"expected {URL_FORM}, not {text!r}")
    protocol, default_port = SCHEMES[scheme]
    return TritonTarget(protocol, parts.hostname, port or default_port, model)
