"""YAML cassettes, loaded with PyYAML's safe loader by this module, never by vcrpy's.

vcrpy's own deserializer used PyYAML's full loader up to 9.2 (a cassette could run
``!!python/object/apply:os.system``), and no version bounds aliases: a 336 KB alias bomb takes
minutes and hundreds of MB to build. So the event stream is scanned first (in C when libyaml is
there), counting aliases, the size the document would have with every alias expanded, and the
nesting depth; only a document within those bounds is built, by a subclass of the safe loader that
keeps timestamps as the strings they were written as and refuses ``!!set``.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["MAX_YAML_ALIASES", "MAX_YAML_NODES", "YamlRefused", "dump", "load"]

# vcrpy writes no aliases for the data it records; a few from a hand-edited file are fine.
MAX_YAML_ALIASES = 10_000
# With aliases expanded: ~10x the nodes of a 10,000-interaction cassette.
MAX_YAML_NODES = 5_000_000

# PyYAML ships no type stubs: imported by name.
_yaml: Any = importlib.import_module("yaml")


class YamlRefused(ValueError):
    """The document is outside the bounds, or holds a type a cassette may not (the caller names
    the file in a CassetteFormatError)."""


def _base_loader() -> Any:
    return getattr(_yaml, "CSafeLoader", None) or _yaml.SafeLoader


def _base_dumper() -> Any:
    return getattr(_yaml, "CSafeDumper", None) or _yaml.SafeDumper


def _as_string(loader: Any, node: Any) -> str:
    return str(loader.construct_scalar(node))


def _as_list(loader: Any, node: Any) -> list[Any]:
    return list(loader.construct_sequence(node))


def _refuse_set(loader: Any, node: Any) -> Any:
    msg = f"a !!set at line {node.start_mark.line + 1} (cassettes hold JSON values only)"
    raise YamlRefused(msg)


_Loader: Any = type("_CassetteSafeLoader", (_base_loader(),), {})
# Timestamps stay the text they were written as: request bodies are JSON, which has no dates.
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _as_string)
_Loader.add_constructor("tag:yaml.org,2002:set", _refuse_set)
# Spellings older vcrpy dumpers used for plain strings and tuples: harmless, so read as data.
_Loader.add_constructor("tag:yaml.org,2002:python/str", _as_string)
_Loader.add_constructor("tag:yaml.org,2002:python/unicode", _as_string)
_Loader.add_constructor("tag:yaml.org,2002:python/tuple", _as_list)


def _scan(text: str, max_depth: int) -> None:
    """Walk the event stream and refuse what would be too big to build (nothing is built here)."""
    sizes: dict[str, int] = {}  # anchor -> expanded size of the node it names
    stack: list[list[Any]] = []  # per open collection: [anchor, expanded size so far]
    expanded = aliases = 0  # nodes the built document would have, aliases expanded
    for event in _yaml.parse(text, Loader=_base_loader()):
        kind = type(event).__name__
        if kind in ("MappingStartEvent", "SequenceStartEvent"):
            stack.append([event.anchor, 1])
            expanded += 1
            if len(stack) > max_depth:
                msg = f"nesting deeper than {max_depth} levels (line {event.start_mark.line + 1})"
                raise YamlRefused(msg)
            continue
        if kind in ("MappingEndEvent", "SequenceEndEvent"):
            anchor, size = stack.pop()
        elif kind == "ScalarEvent":
            anchor, size = event.anchor, 1
            expanded += 1
        elif kind == "AliasEvent":
            aliases += 1
            if aliases > MAX_YAML_ALIASES:
                msg = f"more than {MAX_YAML_ALIASES:,} aliases (a YAML alias bomb?)"
                raise YamlRefused(msg)
            if any(entry[0] == event.anchor for entry in stack):
                msg = (f"an alias inside the node it names (line {event.start_mark.line + 1}): "
                       "a cassette cannot contain itself")
                raise YamlRefused(msg)
            anchor, size = None, sizes.get(event.anchor, 1)
            expanded += size
        else:
            continue
        if anchor is not None:
            sizes[anchor] = size
        if stack:
            stack[-1][1] += size
        if expanded > MAX_YAML_NODES:
            msg = (f"its aliases expand it to more than {MAX_YAML_NODES:,} nodes "
                   "(a YAML alias bomb?)")
            raise YamlRefused(msg)


def load(text: str, *, max_depth: int) -> Any:
    """The document in ``text``, built by the safe loader after the bounds check.

    Raises:
        YamlRefused: outside the bounds, or a refused type.
        yaml.YAMLError: not YAML, or a tag the safe loader does not know (``!!python/object``…).
    """
    _scan(text, max_depth)
    try:
        return _yaml.load(text, Loader=_Loader)  # _Loader is a SafeLoader subclass
    except YamlRefused:
        raise
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        # A constructor choking on a scalar: an integer of 5,000 digits, a bad base64 block...
        msg = f"a value it cannot build ({str(exc)[:200]})"
        raise YamlRefused(msg) from None


def dump(document: Any) -> str:
    """``document`` as YAML, the way vcrpy's serializer lays it out, with the safe dumper."""
    return str(_yaml.dump(document, Dumper=_base_dumper()))


def error_types() -> tuple[type[Exception], ...]:
    """What :func:`load` raises for a document it will not build."""
    return (YamlRefused, _yaml.YAMLError)
