"""Bulk decoding of journal bytes into per-metric columns, for ingest.

Numeric records have one fixed size, so a stretch of them is viewed as a numpy
structured array instead of being unpacked one by one, and their checksums are computed
for the whole stretch at once (``crc32_rows``: zlib's CRC-32, a table step per four
bytes across every record, instead of a Python-level ``zlib.crc32`` call per record).
Other records go through the plain decoder.

Values stay exact: a batch of int records becomes an int64 column (the journal's 64
bits, never a float64 round trip), bools a bool column, floats float64 as logged. Only a
batch that mixes floats with ints is widened to float64.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from runyard.entities import MetricColumns, MetricRecord
from runyard.tracking.control import ControlRecord
from runyard.tracking.journal import (
    HEADER_SIZE,
    KIND_CONTROL,
    KIND_NUMBER,
    KIND_RECORD,
    KIND_STRING,
    TYPE_BOOL,
    TYPE_FLOAT,
    TYPE_INT,
    TYPE_NAMES,
)
from runyard.tracking.journal_reader import DecodeState, iter_records

_FIELDS = [
    ("length", "<u4"),
    ("crc", "<u4"),
    ("kind", "u1"),
    ("type", "u1"),
    ("name_id", "<u4"),
    ("step", "<i8"),
    ("timestamp", "<f8"),
]
_NUMBER_DTYPE = np.dtype([*_FIELDS, ("value", "<f8")])
# The same records with the value read as the int64 that int records carry.
_INTEGER_DTYPE = np.dtype([*_FIELDS, ("value", "<i8")])
_NUMBER_BODY = _NUMBER_DTYPE.itemsize - HEADER_SIZE


def _crc_tables() -> npt.NDArray[np.uint32]:
    """zlib's CRC-32 (reflected polynomial 0xEDB88320) as four tables, for a step of
    four bytes at a time ("slicing by four")."""
    tables = np.zeros((4, 256), dtype=np.uint32)
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0xEDB88320 if c & 1 else c >> 1
        tables[0, i] = c
    for k in range(1, 4):
        prev = tables[k - 1]
        tables[k] = (prev >> 8) ^ tables[0][prev & 0xFF]
    return tables


_T0, _T1, _T2, _T3 = _crc_tables()
_DENSE_IDS = 1 << 16


def crc32_rows(
    data: bytes | memoryview, offset: int, count: int, stride: int, length: int
) -> npt.NDArray[np.uint32]:
    """``zlib.crc32`` of ``count`` byte strings of ``length`` bytes each, the first at
    ``offset`` of ``data`` and each next one ``stride`` bytes further on."""
    crc = np.full(count, 0xFFFFFFFF, dtype=np.uint32)
    if count == 0:
        return crc
    at = offset
    for _ in range(length // 4):
        # An unaligned strided view of each record's next four bytes (no copy).
        words = np.ndarray((count,), dtype="<u4", buffer=data, offset=at, strides=(stride,))
        crc ^= words
        crc = _T3[crc & 0xFF] ^ _T2[(crc >> 8) & 0xFF] ^ _T1[(crc >> 16) & 0xFF] ^ _T0[crc >> 24]
        at += 4
    for _ in range(length % 4):
        byte = np.ndarray((count,), dtype=np.uint8, buffer=data, offset=at, strides=(stride,))
        crc = _T0[(crc ^ byte) & 0xFF] ^ (crc >> 8)
        at += 1
    out: npt.NDArray[np.uint32] = crc ^ np.uint32(0xFFFFFFFF)
    return out


@dataclass
class DecodedBatch:
    """What one pass over the journal found, grouped for ``Store.append_metrics``."""

    numeric: dict[int, list[npt.NDArray[Any]]] = field(default_factory=dict)
    strings: dict[int, tuple[list[int], list[float], list[str]]] = field(default_factory=dict)
    records: list[MetricRecord] = field(default_factory=list)
    control: list[ControlRecord] = field(default_factory=list)
    count: int = 0

    def columns(self, names: dict[int, str]) -> list[MetricColumns]:
        out: list[MetricColumns] = []
        for name_id, chunks in self.numeric.items():
            arr = chunks[0] if len(chunks) == 1 else np.concatenate(chunks)
            types = arr["type"]
            is_int = types == TYPE_INT
            any_int = bool(is_int.any())
            floats: npt.NDArray[Any] = arr["value"]  # a bool record's 0.0 or 1.0
            values: npt.NDArray[Any]
            if bool((types == TYPE_FLOAT).any()):
                vtype = TYPE_FLOAT
                values = floats
                if any_int:
                    ints = arr.view(_INTEGER_DTYPE)["value"]
                    values = np.where(is_int, ints.astype(np.float64), floats)
            elif any_int:
                vtype = TYPE_INT
                values = arr.view(_INTEGER_DTYPE)["value"]
                if not bool(is_int.all()):  # bools among the ints: 0 and 1
                    # Cast only the bools' floats: an int record's float field holds its
                    # int64 bits, which may read as NaN.
                    is_bool = ~is_int
                    values = values.copy()
                    values[is_bool] = floats[is_bool].astype(np.int64)
            else:
                vtype = TYPE_BOOL
                values = floats != 0.0
            out.append(
                MetricColumns(
                    key=names[name_id],
                    value_type=TYPE_NAMES[vtype],
                    steps=np.ascontiguousarray(arr["step"]),
                    timestamps=np.ascontiguousarray(arr["timestamp"]),
                    values=np.ascontiguousarray(values),
                )
            )
        for name_id, (steps, stamps, texts) in self.strings.items():
            out.append(MetricColumns(names[name_id], "str", steps, stamps, texts))
        return out


def _distinct(ids: npt.NDArray[Any]) -> list[int]:
    """The name ids present, ascending. Not ``np.unique``: its first call imports
    ``numpy.ma``, 13 ms of a process's first ``run.complete()``. A journal's ids count
    up from 0, so a histogram is small (a journal of 65,536 names or more takes a set)."""
    if int(ids.max()) >= _DENSE_IDS:
        return sorted(set(ids.tolist()))
    found: list[int] = np.flatnonzero(np.bincount(ids)).tolist()
    return found


def decode(
    data: bytes | memoryview, base: int, state: DecodeState, max_records: int
) -> DecodedBatch:
    """Decodes whole records of ``data`` (starting at file offset ``base``) from
    ``state.offset`` on, up to about ``max_records``."""
    view = memoryview(data)
    n = len(view)
    batch = DecodedBatch()
    size = _NUMBER_DTYPE.itemsize
    while batch.count < max_records:
        pos = state.offset - base
        if pos + HEADER_SIZE > n:
            break
        fits = min((n - pos) // size, max_records - batch.count)
        if fits > 0:
            arr = np.frombuffer(view, dtype=_NUMBER_DTYPE, count=fits, offset=pos)
            good = (arr["length"] == _NUMBER_BODY) & (arr["kind"] == KIND_NUMBER)
            m = fits if bool(good.all()) else int(np.argmin(good))
            if m:
                ok = crc32_rows(view, pos + HEADER_SIZE, m, size, _NUMBER_BODY) == arr["crc"][:m]
                if not bool(ok.all()):
                    m = int(np.argmin(ok))  # stop before the first record that fails
            if m:
                run = arr[:m]
                ids = run["name_id"]
                first = int(ids[0])
                if bool((ids == first).all()):
                    batch.numeric.setdefault(first, []).append(run)
                else:
                    for name_id in _distinct(ids):
                        batch.numeric.setdefault(name_id, []).append(run[ids == name_id])
                unknown = [i for i in batch.numeric if i not in state.names]
                if unknown:
                    state.stopped = f"records name undefined metric ids {unknown[:5]}"
                    for i in unknown:
                        del batch.numeric[i]
                    break
                batch.count += m
                state.offset += m * size
                continue
        # Not a numeric record (or damage): one record through the plain decoder.
        rec = next(iter_records(view[:n], base, state), None)
        if rec is None:
            break
        batch.count += 1
        if rec.kind == KIND_NUMBER:
            arr = np.zeros(1, dtype=_NUMBER_DTYPE)
            arr["type"], arr["name_id"], arr["step"] = rec.value_type, rec.name_id, rec.step
            arr["timestamp"] = rec.timestamp
            if rec.value_type == TYPE_INT:
                arr.view(_INTEGER_DTYPE)["value"] = rec.value
            else:
                arr["value"] = float(rec.value)
            batch.numeric.setdefault(rec.name_id, []).append(arr)
        elif rec.kind == KIND_STRING:
            steps, stamps, texts = batch.strings.setdefault(rec.name_id, ([], [], []))
            steps.append(rec.step)
            stamps.append(rec.timestamp)
            texts.append(str(rec.value))
        elif rec.kind == KIND_CONTROL:
            obj = rec.value if isinstance(rec.value, dict) else {}
            batch.control.append(
                ControlRecord(str(obj.get("kind")), obj.get("payload"), rec.timestamp)
            )
        elif rec.kind == KIND_RECORD:
            obj = rec.value if isinstance(rec.value, dict) else {}
            batch.records.append(
                MetricRecord(
                    key=rec.name,
                    kind=str(obj.get("kind", "list")),
                    payload=obj.get("payload"),
                    timestamp=rec.timestamp,
                )
            )
    return batch


def has_data_after(data: bytes | memoryview, start: int) -> bool:
    """Whether any non-zero byte follows ``start``: damage rather than a clean end
    (the journal's unwritten tail is zeros)."""
    return bool(np.frombuffer(data, dtype=np.uint8)[start:].any())
