"""Tests for flowview_async.results: the ``_result`` envelope and loading values.

The differential part has real Prefect 1.4.1 write PrefectResult and LocalResult values (JSON and
pickle serializers) and serialize the task states pointing at them; we must read back what it wrote.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import pickle
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

import flowview_async.results as results_module
from flowview_async.errors import MalformedResponseError, ResultError
from flowview_async.results import NO_RESULT, ResultInfo, load_result, parse_result_info
from flowview_async.states import parse_state
from tests.prefect1_peer import run_in_peer

# --- the envelope -------------------------------------------------------------------------------


def test_parse_result_info_keeps_what_prefect_serialized() -> None:
    raw = {"__version__": "1.4.1", "dir": "/r", "location": "/r/x", "type": "LocalResult"}
    info = parse_result_info(raw)
    assert info == ResultInfo(type="LocalResult", dir="/r", location="/r/x")
    assert info.raw == raw
    assert info.serialize() == raw
    assert info.has_result


def test_missing_type_is_the_bare_result_and_unknown_types_keep_their_name() -> None:
    assert parse_result_info({"location": "x"}).type == "Result"
    assert parse_result_info({"type": "MyResult", "location": "x"}).type == "MyResult"
    assert not NO_RESULT.has_result
    assert NO_RESULT.serialize() == {"type": "NoResultType"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (None, "_result must be a JSON object"),
        ([], "_result must be a JSON object"),
        ({"type": 5}, r"_result\.type must be a result class name"),
        ({"type": ""}, r"_result\.type must be a result class name"),
        ({"type": "LocalResult", "location": 3}, r"_result\.location must be a string"),
        ({"type": "S3Result", "bucket": ["b"]}, r"_result\.bucket must be a string"),
    ],
)
def test_malformed_envelopes_raise_a_typed_error(data: Any, message: str) -> None:
    with pytest.raises(MalformedResponseError, match=message):
        parse_result_info(data)


def test_public_names_are_sorted_and_importable() -> None:
    names = results_module.__all__
    assert names == sorted(names, key=lambda n: (not n.isupper(), not n[0].isupper(), n))
    for name in names:
        assert hasattr(results_module, name), name


# --- PrefectResult ------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [{"a": [1, 2]}, [1, "two"], "text", 3.5, None, True])
async def test_prefect_result_location_is_the_json_value(value: Any) -> None:
    info = ResultInfo(type="PrefectResult", location=json.dumps(value))
    assert await load_result(info) == value


async def test_large_prefect_result_is_decoded_too() -> None:
    value = {"rows": list(range(50_000))}
    assert await load_result(ResultInfo(type="PrefectResult", location=json.dumps(value))) == value


async def test_prefect_result_with_bad_json_location() -> None:
    with pytest.raises(ResultError, match="PrefectResult location is not valid JSON"):
        await load_result(ResultInfo(type="PrefectResult", location="{not json"))


async def test_prefect_result_without_location() -> None:
    with pytest.raises(ResultError, match="has no location"):
        await load_result(ResultInfo(type="PrefectResult", location=None))


# --- LocalResult --------------------------------------------------------------------------------


async def test_local_result_json_file_absolute_and_relative(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "r.json").write_text(json.dumps({"x": [1, 2]}))
    absolute = ResultInfo(type="LocalResult", dir="/elsewhere", location=str(tmp_path / "sub/r.json"))
    relative = ResultInfo(type="LocalResult", dir=str(tmp_path), location="sub/r.json")
    assert await load_result(absolute) == {"x": [1, 2]}
    assert await load_result(relative) == {"x": [1, 2]}


async def test_missing_local_file_says_where_it_looked(tmp_path: Path) -> None:
    info = ResultInfo(type="LocalResult", dir=str(tmp_path), location="gone.json")
    with pytest.raises(ResultError, match="does not exist on this machine") as caught:
        await load_result(info)
    assert str(tmp_path / "gone.json") in str(caught.value)


async def test_unreadable_local_result(tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("{}")
    below_a_file = ResultInfo(type="LocalResult", location=str(tmp_path / "plain" / "child"))
    with pytest.raises(ResultError, match="could not be read"):
        await load_result(below_a_file)
    a_directory = ResultInfo(type="LocalResult", location=str(tmp_path))
    with pytest.raises(ResultError, match="not a regular file"):
        await load_result(a_directory)


async def test_local_result_without_location() -> None:
    with pytest.raises(ResultError, match="has no location"):
        await load_result(ResultInfo(type="LocalResult", dir="/r", location=None))


async def test_pickles_need_an_explicit_opt_in(tmp_path: Path) -> None:
    value = {"when": datetime(2022, 1, 2, tzinfo=timezone.utc), "items": (1, 2)}
    path = tmp_path / "r.pickle"
    path.write_bytes(pickle.dumps(value, protocol=4))
    info = ResultInfo(type="LocalResult", location=str(path))
    with pytest.raises(ResultError, match="allow_pickle=True"):
        await load_result(info)
    assert await load_result(info, allow_pickle=True) == value


async def test_old_base64_pickles_are_read_when_allowed(tmp_path: Path) -> None:
    path = tmp_path / "r.b64"
    path.write_bytes(base64.b64encode(pickle.dumps([1, 2], protocol=4)))
    info = ResultInfo(type="LocalResult", location=str(path))
    with pytest.raises(ResultError, match="neither JSON nor a recognised pickle"):
        await load_result(info)
    assert await load_result(info, allow_pickle=True) == [1, 2]


async def test_broken_pickle_and_foreign_bytes(tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.write_bytes(b"\x80\x04garbage")
    with pytest.raises(ResultError, match="could not be unpickled"):
        await load_result(ResultInfo(type="LocalResult", location=str(broken)), allow_pickle=True)
    compressed = tmp_path / "compressed"
    compressed.write_bytes(b"\x1f\x8b\x08\x00 gzip-ish")
    with pytest.raises(ResultError, match="neither JSON nor a recognised pickle"):
        await load_result(ResultInfo(type="LocalResult", location=str(compressed)), allow_pickle=True)


async def test_local_result_is_read_in_a_worker_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "r.json"
    path.write_text('{"x": 1}')
    opened_in: list[threading.Thread] = []
    real_open = os.open

    def spying_open(name: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if str(name) == str(path):
            opened_in.append(threading.current_thread())
        return real_open(name, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", spying_open)
    assert await load_result(ResultInfo(type="LocalResult", location=str(path))) == {"x": 1}
    assert len(opened_in) == 1
    assert opened_in[0] is not threading.main_thread()


async def test_fifos_and_devices_are_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "result.fifo"
    os.mkfifo(fifo)  # opening it for reading would block until a writer appears
    for location in (str(fifo), "/dev/zero"):
        with pytest.raises(ResultError, match="not a regular file"):
            await load_result(ResultInfo(type="LocalResult", location=location))


# --- everything else ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("info", "message"),
    [
        (NO_RESULT, "has no Result type"),
        (ResultInfo(type="Result", location=None), "nothing was persisted"),
        (ResultInfo(type="CustomResult", location="x"), "custom Result class"),
        (ResultInfo(type="Result", location="x"), "custom Result class"),
        (ResultInfo(type="ConstantResult", location="1"), "constants compiled into the flow"),
        (ResultInfo(type="S3Result", bucket="b", location="k"), "Loading S3Result values"),
        (ResultInfo(type="GCSResult", bucket="b", location="k"), "Loading GCSResult values"),
        (ResultInfo(type="AzureResult", container="c", location="k"), "Loading AzureResult"),
        (ResultInfo(type="SecretResult", location="k"), "does not read secrets"),
        (ResultInfo(type="MyResult", location="k"), "not a built-in Prefect 1 result class"),
    ],
    ids=lambda value: value.type if isinstance(value, ResultInfo) else None,
)
async def test_unsupported_results_raise_result_error(info: ResultInfo, message: str) -> None:
    with pytest.raises(ResultError, match=message):
        await load_result(info)


# --- differential: read what Prefect 1.4.1 wrote ---------------------------------------------

PEER_SCRIPT = r"""
import json, os
from prefect.engine.results import LocalResult, PrefectResult
from prefect.engine.serializers import JSONSerializer
from prefect.engine.state import Success

directory = os.environ["FLOWVIEW_RESULT_DIR"]
VALUES = [{"a": [1, 2], "b": None}, ["x", 2, 3.5], "plain text", 42, None]
states = []
for value in VALUES:
    for name, result in [
        ("PrefectResult", PrefectResult()),
        ("LocalResult/json", LocalResult(dir=directory, serializer=JSONSerializer())),
        ("LocalResult/pickle", LocalResult(dir=directory)),
    ]:
        written = result.write(value)
        states.append({
            "kind": name,
            "value": value,
            "serialized": Success(message="ok", result=written).serialize(),
        })
print(json.dumps(states))
"""


@pytest.fixture(scope="module")
def written_by_prefect(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    directory = tmp_path_factory.mktemp("prefect-results")
    answer: list[dict[str, Any]] = run_in_peer(PEER_SCRIPT, env={"FLOWVIEW_RESULT_DIR": str(directory)})
    return answer


async def test_we_read_every_result_prefect_wrote(written_by_prefect: list[dict[str, Any]]) -> None:
    assert len(written_by_prefect) == 15
    for entry in written_by_prefect:
        info = parse_state(entry["serialized"]).result_info
        if entry["kind"] == "LocalResult/pickle":
            with pytest.raises(ResultError, match="allow_pickle=True"):
                await load_result(info)
            assert await load_result(info, allow_pickle=True) == entry["value"]
        else:
            assert await load_result(info) == entry["value"], entry["kind"]


async def test_prefect_envelopes_round_trip(written_by_prefect: list[dict[str, Any]]) -> None:
    for entry in written_by_prefect:
        serialized = entry["serialized"]
        info = parse_result_info(serialized["_result"])
        assert info.type == entry["kind"].split("/")[0]
        assert info.serialize() == serialized["_result"]
        assert parse_state(serialized).serialize() == serialized


async def test_loading_many_results_concurrently(written_by_prefect: list[dict[str, Any]]) -> None:
    infos = [parse_state(entry["serialized"]).result_info for entry in written_by_prefect]
    values = await asyncio.gather(*(load_result(info, allow_pickle=True) for info in infos))
    assert values == [entry["value"] for entry in written_by_prefect]
