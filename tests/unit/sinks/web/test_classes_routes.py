"""``/api/classes`` answers what went wrong as JSON: no teacher (nothing recorded), a disk that
cannot be written (never a traceback), a teacher's refusal with its own status."""
from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from live_classify.sinks.web.classes import ClassRoutes
from live_classify.teach import Refused


class Failing:
    def classes(self) -> list[dict[str, object]]:
        raise OSError(13, "Permission denied")

    def teach(self, label: str, moments: list[tuple[str, float]]) -> dict[str, object]:
        raise Refused(422, f"nothing of {moments[0][0]} is recorded at {moments[0][1]}")

    def forget(self, label: str) -> bool:
        return False


async def answers(teacher: object) -> list[tuple[int, object]]:
    app = web.Application()
    ClassRoutes(lambda: teacher).add_to(app)  # type: ignore[arg-type, return-value]
    async with TestClient(TestServer(app)) as client:
        replies = [await client.get("/api/classes"),
                   await client.post("/api/classes", json={"label": "mug", "examples": [{"camera": "a", "time": 5}]}),
                   await client.delete("/api/classes/mug")]
        return [(reply.status, await reply.json()) for reply in replies]


def test_each_failure_is_a_status_and_a_json_message() -> None:
    assert asyncio.run(answers(Failing())) == [
        (500, {"error": "the taught classes cannot be read or written: [Errno 13] Permission denied"}),
        (422, {"error": "nothing of a is recorded at 5.0"}),
        (404, {"error": "no class 'mug' was taught"})]
    nothing = "nothing is taught without recordings: run with --record DIR/ and --segment"
    assert asyncio.run(answers(None)) == [(404, {"error": nothing})] * 3
