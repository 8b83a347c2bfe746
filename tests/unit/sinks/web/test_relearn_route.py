"""``POST /api/health/relearn?camera=NAME`` as a unit: 200 for a camera with health checks, 409 for one
without, 404 for no such camera; and only a POST: a GET (a link followed, an ``<img>`` on another site,
a viewer's script) is a 405 and relearns nothing, since the guards let safe methods through to anyone
who may look (mutation round issue35-health-8, N2)."""
from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from live_classify.sinks.web.relearn import PATH, add_relearn


async def answers(asked: list[str]) -> list[tuple[str, int]]:
    def relearning(name: str) -> bool | None:
        asked.append(name)
        return {"door": True, "yard": False}.get(name)

    app = web.Application()
    add_relearn(app, relearning)
    async with TestClient(TestServer(app)) as client:
        replies = [("POST door", await client.post(f"{PATH}?camera=door")),
                   ("POST yard", await client.post(f"{PATH}?camera=yard")),
                   ("POST nowhere", await client.post(f"{PATH}?camera=nowhere")),
                   ("GET door", await client.get(f"{PATH}?camera=door"))]
        return [(what, reply.status) for what, reply in replies]


def test_only_a_post_relearns_and_each_refusal_has_its_status() -> None:
    asked: list[str] = []
    assert asyncio.run(answers(asked)) == [("POST door", 200), ("POST yard", 409), ("POST nowhere", 404),
                                           ("GET door", 405)]
    assert asked == ["door", "yard", "nowhere"], "the GET relearned nothing"
