"""Fault and latency injection, observed from a real HTTP client."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from flowview_async.errors import InvalidArgumentError
from flowview_async.server import FaultPlan
from flowview_async.server.runner import LocalBackend

QUERY = {"query": "{ hello }", "variables": "null"}


async def post(session: aiohttp.ClientSession, backend: LocalBackend) -> tuple[int, str, dict[str, str]]:
    async with session.post(backend.url, json=QUERY) as response:
        return response.status, await response.text(), dict(response.headers)


async def test_scripted_faults_then_normal_service(session: aiohttp.ClientSession) -> None:
    spec = "500*1,502,503*1,429@2*1,nonjson*1,api_error*1,ok*1,500*1"
    async with LocalBackend(None, faults=spec) as backend:
        answers = [await post(session, backend) for _ in range(9)]
        statuses = [status for status, _, _ in answers]
        assert statuses == [500, 502, 503, 429, 200, 200, 200, 500, 200]
        assert answers[3][2]["Retry-After"] == "2"
        assert answers[4][1].startswith("<html>")
        assert '"code": "API_ERROR"' in answers[5][1]
        assert answers[6][1] == '{"data": {"hello": "👋"}}'
        assert [r.status for r in backend.requests] == statuses


async def test_connection_reset(session: aiohttp.ClientSession) -> None:
    async with LocalBackend(None, faults="reset*1") as backend:
        with pytest.raises(aiohttp.ClientConnectionError):
            await post(session, backend)
        status, _, _ = await post(session, backend)
        assert status == 200
        assert [r.status for r in backend.requests] == [0, 200]


async def test_slow_response_trips_a_client_timeout(session: aiohttp.ClientSession) -> None:
    async with LocalBackend(None, faults="slow@5*1") as backend:
        with pytest.raises(asyncio.TimeoutError):
            async with session.post(
                backend.url, json=QUERY, timeout=aiohttp.ClientTimeout(total=0.2)
            ) as response:
                await response.read()
        status, _, _ = await post(session, backend)
        assert status == 200


async def test_random_faults_are_reproducible_with_a_seed(session: aiohttp.ClientSession) -> None:
    async def statuses(seed: int) -> list[int]:
        async with LocalBackend(None, faults="500:0.3,503:0.2", seed=seed) as backend:
            return [(await post(session, backend))[0] for _ in range(30)]

    first, again, other = await statuses(7), await statuses(7), await statuses(8)
    assert first == again
    assert first != other
    assert {200, 500, 503} == set(first)


async def test_latency_lets_requests_overlap_and_health_is_never_faulted(
    session: aiohttp.ClientSession,
) -> None:
    async with LocalBackend(None, latency_ms=300, jitter_ms=50, faults="500*5") as backend:
        async with session.get(backend.url + "/.well-known/apollo/server-health") as health:
            assert health.status == 200
        results = await asyncio.gather(*(post(session, backend) for _ in range(5)))
        assert [status for status, _, _ in results] == [500] * 5
        assert backend.max_in_flight == 5
        backend.clear_requests()
        assert backend.max_in_flight == 0
        assert (await post(session, backend))[0] == 200
        assert backend.max_in_flight == 1


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("418:0.1", "is not understood"),
        ("500:1.5", "between 0 and 1"),
        ("ok:0.5", "can only be scripted"),
        ("500:0.6,503:0.6", "add up to 1.2"),
        ("500*x", "is not understood"),
    ],
)
def test_bad_fault_specs(spec: str, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        FaultPlan.parse(spec)


def test_fault_spec_round_trip() -> None:
    plan = FaultPlan.parse(" 503*2, ok*1 ,429@3:0.05,reset:0.02,slow@1.5:0.01 ")
    assert plan.spec() == "503*2,ok*1,429@3:0.05,reset:0.02,slow@1.5:0.01"
    assert FaultPlan.parse(plan.spec()) == plan


async def test_negative_latency_is_refused() -> None:
    with pytest.raises(InvalidArgumentError, match="must not be negative"):
        LocalBackend(None, latency_ms=-1)


async def test_stopping_cancels_a_request_still_being_served(
    session: aiohttp.ClientSession,
) -> None:
    backend = LocalBackend(None, faults="slow@600*1")
    async with backend:
        pending = asyncio.ensure_future(post(session, backend))
        for _ in range(500):
            if backend.max_in_flight:
                break
            await asyncio.sleep(0.01)
        assert backend.max_in_flight == 1
    # The slow handler was cancelled by the shutdown instead of holding it for ten minutes.
    with pytest.raises(aiohttp.ClientError):
        await pending
    assert [r.status for r in backend.requests] == [0]


async def test_fault_kinds_for_the_soak(session: aiohttp.ClientSession) -> None:
    spec = "503_errors@0.5*1,429_errors@1.5*1,500_html*1,truncated*1,data_null*1"
    async with LocalBackend(None, faults=spec) as backend:
        answers = [await post(session, backend) for _ in range(6)]
    statuses = [status for status, _, _ in answers]
    assert statuses == [503, 429, 500, 200, 200, 200]
    assert answers[0][2]["Retry-After"] == "0.5"
    assert answers[1][2]["Retry-After"] == "1.5"
    assert '"errors"' in answers[0][1]
    assert '"errors"' in answers[1][1]
    assert answers[2][1].startswith("<html>")
    assert answers[3][1] == '{"data": {"hello": "👋"}}'[: len(answers[3][1])]
    assert len(answers[3][1]) < len('{"data": {"hello": "👋"}}')
    assert answers[4][1] == '{"data": null}'
    assert answers[5][1] == '{"data": {"hello": "👋"}}'
