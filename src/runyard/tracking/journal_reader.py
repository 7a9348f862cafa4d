"""Reading a run journal written by :class:`runyard.tracking.journal.JournalWriter`:
one record at a time, stopping cleanly at a torn or damaged tail."""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

# The writer and this reader are the two halves of one format: the record layouts are
# defined once, beside the writer.
from runyard.tracking.journal import (
    _CONTROL,
    _HEADER,
    _INTEGER,
    _NAME,
    _NUMBER,
    _RECORD,
    _STRING,
    HEADER_SIZE,
    KIND_CONTROL,
    KIND_NAME,
    KIND_NUMBER,
    KIND_RECORD,
    KIND_STRING,
    TYPE_BOOL,
    TYPE_FLOAT,
    TYPE_INT,
    TYPE_STR,
)


@dataclass
class Record:
    kind: int
    name_id: int
    name: str
    value_type: int = TYPE_FLOAT
    step: int = 0
    timestamp: float = 0.0
    value: Any = None
    offset: int = 0


@dataclass
class DecodeState:
    """What a reader carries between reads: the name table and where it stopped."""

    offset: int = 0
    names: dict[int, str] = field(default_factory=dict)
    # Why reading stopped before the data's end, if it did: "incomplete" (the writer
    # may still be copying) or a description of the damage.
    stopped: str | None = None


def iter_records(data: bytes | memoryview, base: int, state: DecodeState) -> Iterator[Record]:
    """Decodes the whole records in ``data`` (which starts at file offset ``base``),
    advancing ``state.offset`` past each. Stops at the end marker, at a record that is
    not complete yet, or at damage (``state.stopped`` says which)."""
    view = memoryview(data)
    n = len(view)
    pos = state.offset - base
    state.stopped = None
    names = state.names
    unpack_header = _HEADER.unpack_from
    crc32 = zlib.crc32
    while pos + HEADER_SIZE <= n:
        length, crc = unpack_header(view, pos)
        if length == 0:
            if crc != 0:
                state.stopped = f"damaged record header at offset {base + pos}"
            return
        end = pos + HEADER_SIZE + length
        if end > n:
            state.stopped = "incomplete"
            return
        body = view[pos + HEADER_SIZE : end]
        if crc32(body) != crc:
            state.stopped = f"checksum mismatch at offset {base + pos}"
            return
        kind = body[0]
        if kind == KIND_NUMBER and length == _NUMBER.size:
            _, vtype, name_id, step, ts, value = _NUMBER.unpack(body)
            if vtype == TYPE_INT:
                value = _INTEGER.unpack(body)[5]
            elif vtype == TYPE_BOOL:
                value = bool(value)
            rec = Record(kind, name_id, names.get(name_id, ""), vtype, step, ts, value, base + pos)
        elif kind == KIND_NAME and length >= _NAME.size:
            _, name_id = _NAME.unpack_from(body)
            names[name_id] = bytes(body[_NAME.size :]).decode("utf-8", "surrogatepass")
            state.offset = base + end
            pos = end
            continue
        elif kind == KIND_STRING and length >= _STRING.size:
            _, _, name_id, step, ts = _STRING.unpack_from(body)
            text = bytes(body[_STRING.size :]).decode("utf-8", "surrogatepass")
            rec = Record(
                kind, name_id, names.get(name_id, ""), TYPE_STR, step, ts, text, base + pos
            )
        elif kind == KIND_RECORD and length >= _RECORD.size:
            _, name_id, ts = _RECORD.unpack_from(body)
            obj = json.loads(bytes(body[_RECORD.size :]))
            rec = Record(kind, name_id, names.get(name_id, ""), TYPE_STR, 0, ts, obj, base + pos)
        elif kind == KIND_CONTROL and length >= _CONTROL.size:
            _, ts = _CONTROL.unpack_from(body)
            obj = json.loads(bytes(body[_CONTROL.size :]))
            rec = Record(kind, 0, "", TYPE_STR, 0, ts, obj, base + pos)
            state.offset = base + end
            pos = end
            yield rec  # a control record names no metric
            continue
        else:
            state.stopped = f"unknown record kind {kind} at offset {base + pos}"
            return
        if not rec.name:
            state.stopped = f"record at offset {base + pos} names undefined metric {name_id}"
            return
        state.offset = base + end
        pos = end
        yield rec
