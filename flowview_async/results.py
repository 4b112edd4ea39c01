"""Task run results: the ``_result`` envelope of a serialized state, and loading the value it names.

Prefect 1 never stores a task's return value in the backend, only where to find it: the
``_result`` object of a serialized state carries the result class name (``type``) and a
``location`` (plus ``dir``, ``bucket`` or ``container`` depending on the class). :class:`ResultInfo`
is that envelope as a frozen value; :func:`load_result` turns it into the value.

What :func:`load_result` can read, and how (checked against files Prefect 1.4.1 writes):

- ``PrefectResult``: the location *is* the value, serialized with Prefect's ``JSONSerializer``
  (``json.dumps``), so the value is ``json.loads(location)``. No I/O at all.
- ``LocalResult``: a file on this machine. The location Prefect records is the absolute path it
  wrote; a relative location is joined to ``dir`` as Prefect's ``LocalResult.read`` does. The
  envelope does **not** say which serializer wrote the file (Prefect 1.4.1 reads every file with
  the class default, ``PickleSerializer``, which is why a JSON-configured LocalResult could not be
  read back by the sync view, PrefectHQ/prefect#4636). We look at the bytes instead: a pickle
  (``\\x80`` protocol header, or the base64 pickles of old Prefect Core versions) is only
  unpickled when the caller passes ``allow_pickle=True``, because unpickling runs arbitrary code
  from the file; anything else must be JSON (``JSONSerializer``).
- Everything else (``S3Result``, ``GCSResult``, ``AzureResult``, ``SecretResult``,
  ``ConstantResult``, custom classes, a result with no location, no result at all) raises
  :class:`~flowview_async.errors.ResultError` saying why and what to do.

File reads and decoding run in a worker thread (``asyncio.to_thread``), and so does decoding a
large PrefectResult: a big result never blocks the event loop. Only regular files are read; a
location naming a FIFO or a device (which would block or never end) is refused.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import os
import pickle
import stat
from collections.abc import Mapping
from typing import Any, Final

import attrs

from flowview_async.errors import MalformedResponseError, ResultError

__all__ = [
    "KNOWN_RESULT_TYPES",
    "NO_RESULT",
    "ResultInfo",
    "load_result",
    "parse_result_info",
]

#: The Prefect 1 result class names whose serialized form we know (``StateResultSchema``).
KNOWN_RESULT_TYPES: Final = frozenset(
    {
        "AzureResult",
        "ConstantResult",
        "CustomResult",
        "GCSResult",
        "LocalResult",
        "NoResultType",
        "PrefectResult",
        "Result",
        "S3Result",
        "SecretResult",
    }
)

# Where Prefect 1 writes LocalResult files when no ``dir`` is configured (``~/.prefect/results``).
_DEFAULT_LOCAL_RESULT_DIR: Final = os.path.join("~", ".prefect", "results")

# A PrefectResult value is already in memory; decoding a small one inline is cheaper than a thread
# hop, a large one goes to a worker thread so that it cannot stall the event loop.
_INLINE_DECODE_LIMIT: Final = 64 * 1024

# Every pickle of protocol 2 or newer starts with the PROTO opcode; cloudpickle writes protocol 4+.
_PICKLE_PROTO_OPCODE: Final = b"\x80"


@attrs.frozen(kw_only=True)
class ResultInfo:
    """Where a task run's result lives, as recorded in the ``_result`` of its serialized state.

    Attributes:
        type: the Prefect result class name, e.g. ``"LocalResult"``, ``"PrefectResult"``,
            ``"NoResultType"`` (no result configured) or ``"Result"`` (a bare result, which is
            what Prefect records for an exception or for a custom result class).
        location: where the value is; for ``PrefectResult`` the JSON text of the value itself.
        dir: the ``LocalResult`` directory, if recorded.
        bucket: the ``S3Result``/``GCSResult`` bucket, if recorded.
        container: the ``AzureResult`` container, if recorded.
        raw: the envelope exactly as received (not compared by ``==``).
    """

    type: str = "NoResultType"
    location: str | None = None
    dir: str | None = None
    bucket: str | None = None
    container: str | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, eq=False, repr=False)

    @property
    def has_result(self) -> bool:
        """False for ``NoResultType``: the task had no result class, so nothing was persisted."""
        return self.type != "NoResultType"

    def serialize(self) -> dict[str, Any]:
        """The envelope in Prefect 1's serialized form (inverse of :func:`parse_result_info`)."""
        data: dict[str, Any] = {"type": self.type}
        if self.type != "NoResultType":
            data["location"] = self.location
        # Type-specific keys are written only when they were there: Prefect 1 writes each only for
        # its own class, and an extra key would make the round trip lossy.
        for key in ("dir", "bucket", "container"):
            value = getattr(self, key)
            if value is not None or key in self.raw:
                data[key] = value
        for key in ("secret_type", "__version__"):
            if key in self.raw:
                data[key] = self.raw[key]
        return data


#: The envelope of a state that has no result configured (Prefect's ``NoResult``).
NO_RESULT: Final = ResultInfo(type="NoResultType", raw={"type": "NoResultType"})


def parse_result_info(data: object, *, path: str = "_result") -> ResultInfo:
    """Validate a serialized ``_result`` envelope and return it as a :class:`ResultInfo`.

    A missing ``type`` reads as the bare ``"Result"`` (what Prefect 1.4.1 does too); an unknown
    ``type`` is kept as sent, so that a :class:`ResultError` can name it later.

    Raises:
        MalformedResponseError: ``data`` is not an object, or a field has the wrong type.
    """
    if not isinstance(data, Mapping):
        raise MalformedResponseError(
            f"{path} must be a JSON object describing the task result, got {_describe(data)}. "
            "The backend sent a serialized state this client cannot read; check that it is a "
            "Prefect 1 Server or Cloud API."
        )
    result_type = data.get("type", "Result")
    if not isinstance(result_type, str) or not result_type:
        raise MalformedResponseError(
            f"{path}.type must be a result class name such as 'LocalResult', got {_describe(result_type)}."
        )
    strings = {key: _optional_str(data, key, path) for key in ("location", "dir", "bucket", "container")}
    return ResultInfo(type=result_type, raw=dict(data), **strings)


async def load_result(result: ResultInfo, *, allow_pickle: bool = False) -> Any:
    """Load the value a task run result points to.

    Args:
        result: the envelope, typically ``state.result_info`` of a finished task run state.
        allow_pickle: also read pickled ``LocalResult`` files (Prefect's default serializer).
            Unpickling executes code from the file: only enable it for files you trust.

    Returns:
        The deserialized value.

    Raises:
        ResultError: the result type cannot be read here, there is no location, the file is
            missing or unreadable, the content is not valid JSON, or it is a pickle and
            ``allow_pickle`` is False.
    """
    if result.type == "PrefectResult":
        if len(_require_location(result)) > _INLINE_DECODE_LIMIT:
            return await asyncio.to_thread(_load_prefect_result, result)
        return _load_prefect_result(result)
    if result.type == "LocalResult":
        location = _require_location(result)
        path = _local_result_path(result.dir, location)
        return await asyncio.to_thread(_read_local_result, path, allow_pickle)
    raise ResultError(_unsupported_type_message(result))


def _load_prefect_result(result: ResultInfo) -> Any:
    location = _require_location(result)
    try:
        return json.loads(location)
    except ValueError as error:
        raise ResultError(
            f"The PrefectResult location is not valid JSON ({error.__class__.__name__}: {error}). "
            "PrefectResult stores the JSON-serialized value as its location; this one was not "
            "written by Prefect's JSONSerializer."
        ) from None


def _require_location(result: ResultInfo) -> str:
    if not result.location:
        raise ResultError(
            f"The task result ({result.type}) has no location, so there is nothing to load. "
            "This usually means the task raised an exception (Prefect does not persist those) "
            "or never returned a value."
        )
    return result.location


def _local_result_path(directory: str | None, location: str) -> str:
    # Same rule as Prefect's LocalResult.read: os.path.join keeps an absolute location as is.
    base = directory if directory else _DEFAULT_LOCAL_RESULT_DIR
    return os.path.expanduser(os.path.join(base, location))


def _read_local_result(path: str, allow_pickle: bool) -> Any:
    """Read and decode one LocalResult file. Runs in a worker thread."""
    try:
        content = _read_regular_file(path)
    except FileNotFoundError:
        raise ResultError(
            f"The LocalResult file {path!r} does not exist on this machine. LocalResult files "
            "live on the machine (or container) that ran the flow: read the result there, or "
            "use a shared result type such as PrefectResult or S3Result."
        ) from None
    except OSError as error:
        raise ResultError(
            f"The LocalResult file {path!r} could not be read ({error.strerror or error}). "
            "Check its permissions."
        ) from None
    return _decode_local_result(content, path, allow_pickle)


def _read_regular_file(path: str) -> bytes:
    # The path comes from backend data. Opening non-blocking and checking the opened descriptor
    # refuses a FIFO (which would block forever) or a device such as /dev/zero (which would never
    # end) without a stat-then-open race.
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise ResultError(
                f"The LocalResult location {path!r} is not a regular file, so it is not a result "
                "Prefect wrote. Check the task run's state: its location looks wrong."
            )
        with os.fdopen(descriptor, "rb") as file:
            descriptor = -1  # the file object owns it now
            return file.read()
    finally:
        if descriptor >= 0:
            os.close(descriptor)


def _decode_local_result(content: bytes, path: str, allow_pickle: bool) -> Any:
    if content.startswith(_PICKLE_PROTO_OPCODE):
        return _unpickle(content, path, allow_pickle)
    try:
        return json.loads(content)
    except ValueError:
        pass
    if allow_pickle:
        # Pickles written before protocol 2, or base64-encoded by old Prefect Core versions.
        for candidate in (content, _b64decode_or_none(content)):
            if candidate is None:
                continue
            try:
                return pickle.loads(candidate)  # the caller opted in (allow_pickle)
            except Exception:  # any failure means "not this format"
                continue
    raise ResultError(
        f"The LocalResult file {path!r} is neither JSON nor a recognised pickle. Only "
        "LocalResults written with Prefect's JSONSerializer or PickleSerializer can be read "
        "(pass allow_pickle=True for pickles); other serializers (compressed, pandas, custom) "
        "are not supported."
    )


def _unpickle(content: bytes, path: str, allow_pickle: bool) -> Any:
    if not allow_pickle:
        raise ResultError(
            f"The LocalResult file {path!r} is a pickle (Prefect's default PickleSerializer). "
            "Unpickling runs code stored in the file, so it is off by default: if you trust the "
            "file, call load_result(..., allow_pickle=True)."
        )
    try:
        return pickle.loads(content)  # the caller opted in (allow_pickle)
    except Exception as error:
        # A cloudpickled function or class may need modules that are not installed here.
        raise ResultError(
            f"The pickled LocalResult {path!r} could not be unpickled "
            f"({error.__class__.__name__}: {error}). Install the packages the value's classes "
            "come from (the ones the flow used), then try again."
        ) from None


def _b64decode_or_none(content: bytes) -> bytes | None:
    try:
        return base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError):
        return None


def _unsupported_type_message(result: ResultInfo) -> str:
    supported = "Only PrefectResult and LocalResult values can be loaded by flowview_async."
    if result.type == "NoResultType":
        return (
            "The task has no Result type, so its return value was not persisted and cannot be "
            "loaded. Set a result on the task or flow (e.g. PrefectResult or LocalResult) so "
            "future runs persist their values."
        )
    if result.type in {"Result", "CustomResult"} and not result.location:
        return (
            "The task result has no location: Prefect recorded a bare Result, meaning nothing was "
            "persisted (no result configured on the task or flow, checkpointing off, or the task "
            "raised). There is no value to load; set a result (e.g. PrefectResult or LocalResult) "
            "on the task so future runs persist their values."
        )
    if result.type in {"Result", "CustomResult"}:
        return (
            f"The task used a custom Result class (recorded as {result.type!r}), whose reader is "
            f"not known here, so its value at {result.location!r} cannot be loaded. {supported}"
        )
    if result.type not in KNOWN_RESULT_TYPES:
        return (
            f"The task result of type {result.type!r} is not a built-in Prefect 1 result "
            f"class, so it cannot be loaded. {supported}"
        )
    if result.type == "SecretResult":
        return (
            f"SecretResult values are Prefect Secrets (here {result.location!r}); flowview_async "
            "does not read secrets. Read it from your secret store instead."
        )
    if result.type == "ConstantResult":
        return (
            "ConstantResult values are constants compiled into the flow, not persisted "
            f"anywhere the backend can point to. {supported}"
        )
    container = result.bucket or result.container
    where = f" (bucket/container {container!r})" if container else ""
    return (
        f"Loading {result.type} values is not supported by flowview_async. {supported} Read "
        f"the object at location {result.location!r}{where} with that service's own client."
    )


def _optional_str(data: Mapping[str, Any], key: str, path: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise MalformedResponseError(f"{path}.{key} must be a string or null, got {_describe(value)}.")
    return value


def _describe(value: object) -> str:
    """A short description of a bad value for an error message (type and a clipped repr)."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"
