"""The run journal: an append-only file of metric records, written through a shared
memory map.

``JournalWriter.log`` packs one record and copies it into a ``MAP_SHARED`` mapping of
the journal file. There is no system call, no lock held across I/O and no thread hop:
the pages belong to the kernel's page cache, so a record is safe the moment ``log``
returns, even if the process is SIGKILLed right after. (Power loss is covered only up to
the last ``flush()``, which msyncs.)

Layout: the file is grown in sparse zeroed chunks. Each record is

    u32 body length | u32 crc32(body) | body

and a zero length marks the end of what was written. A record whose checksum does not
match is either being written right now (the writer is alive) or torn (the writer died
mid-copy): the reader stops there and says so; it never guesses past damage.

Bodies (little-endian):

    NAME    u8 kind=1, u32 name_id, utf-8 name
    NUMBER  u8 kind=2, u8 type (0 float, 1 int, 2 bool), u32 name_id, i64 step,
            f64 wall time, f64 value (i64 for an int)
    STRING  u8 kind=3, u8 0, u32 name_id, i64 step, f64 wall time, utf-8 value
    RECORD  u8 kind=4, u32 name_id, f64 wall time, utf-8 JSON {"kind", "payload"}
    CONTROL u8 kind=5, f64 wall time, utf-8 JSON {"kind", "payload"}

CONTROL records are not metrics: tags, properties, file uploads, a display name, a status
or a child run of a script that has no store of its own (``CONTROL_KINDS``,
``runyard.tracking.control``); ingest applies them, and no metric reader sees them.
"""

from __future__ import annotations

import json
import mmap
import os
import struct
import threading
import time
import zlib
from pathlib import Path
from typing import Any

from runyard.config import MAX_NAME_LENGTH, MAX_STRING_METRIC_LENGTH, check_utf8
from runyard.errors import DiskFullError, MetricTypeError, ValidationError
from runyard.tracking.journals import rank_prefix, reserve

KIND_NAME = 1
KIND_NUMBER = 2
KIND_STRING = 3
KIND_RECORD = 4
KIND_CONTROL = 5
CONTROL_KINDS = frozenset(
    {"tags", "remove_tags", "properties", "upload", "display_name", "status", "child"}
)

TYPE_FLOAT = 0
TYPE_INT = 1
TYPE_BOOL = 2
TYPE_STR = 3
# In memory only: a name that holds list/row/table/image records (never written as a type).
_RECORDS = 4
TYPE_NAMES = ("float", "int", "bool", "str")

_HEADER = struct.Struct("<II")
_NAME = struct.Struct("<BI")
_NUMBER = struct.Struct("<BBIqdd")
_INTEGER = struct.Struct("<BBIqdq")  # same size; ints keep all 64 bits
_STRING = struct.Struct("<BBIqd")
_RECORD = struct.Struct("<BId")
_CONTROL = struct.Struct("<Bd")
HEADER_SIZE = _HEADER.size
_NUMBER_SIZE = _NUMBER.size
_NUMBER_TOTAL = HEADER_SIZE + _NUMBER_SIZE
# Bound once: run.log is the hot path, and global lookups are cheaper than attributes.
_pack_number = _NUMBER.pack
_pack_integer = _INTEGER.pack
_pack_header_into = _HEADER.pack_into
_crc32 = zlib.crc32
_now = time.time

_INITIAL_SIZE = 1 << 20
# Kept free at the end of every reserved segment: when the journal cannot grow (a full
# disk), the record saying so still fits, so the runner fails the run naming the disk
# even if the script catches the DiskFullError and exits 0.
_SPARE = 1024
_FAILURE_TEXT = 700
_MAX_GROWTH = 64 << 20
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1


def check_metric_name(name: object) -> str:
    if not isinstance(name, str):
        raise MetricTypeError(f"metric name must be a string, got {type(name).__name__}")
    if not name.strip():
        raise ValidationError("metric name is empty; give the metric a name such as 'loss'")
    if len(name) > MAX_NAME_LENGTH:
        raise ValidationError(
            f"metric name {name[:40]!r}... is {len(name)} characters long; "
            f"the limit is {MAX_NAME_LENGTH}"
        )
    if any(ord(c) < 32 for c in name):
        raise ValidationError(f"metric name {name!r} contains control characters")
    check_utf8(f"metric name {name!r}", name)
    return name


class JournalWriter:
    """Appends records to a run's journal. Thread-safe; one writer process per journal.

    Reopening an existing journal appends after its last whole record.
    """

    def __init__(self, path: Path | str) -> None:
        self._open(Path(path))

    def reopen(self, path: Path) -> None:
        """Goes on in ``path``: a forked child's own journal (tracking.journals)."""
        self._mm.close()
        os.close(self._fd)
        self._open(path)

    def _open(self, path: Path) -> None:
        self.path = path
        # A rank's names are stored as "rank<r>/<name>": the prefix takes from the limit.
        self._prefix = rank_prefix(path.name)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        self._lock = threading.Lock()
        existing = os.fstat(self._fd).st_size
        self._names: dict[str, list[int]] = {}  # name -> [id, type, next auto step]
        self._pos = 0
        if existing:
            self._resume()
        self._cap = max(existing, _INITIAL_SIZE)
        if existing < self._cap:
            reserve(self._fd, self.path, existing, self._cap)  # DiskFullError, not SIGBUS
        self._mm = mmap.mmap(self._fd, self._cap)
        self._limit = self._cap - _SPARE  # records end by here; the spare is for a failure
        self._failed = False
        self.closed = False

    def _resume(self) -> None:
        # The reader imports this module's record layouts, so it is imported here.
        from runyard.tracking.journal_reader import DecodeState, iter_records

        with open(self.path, "rb") as f:
            data = f.read()
        state = DecodeState()
        for rec in iter_records(data, 0, state):
            if rec.kind in (KIND_NUMBER, KIND_STRING):
                entry = self._names.setdefault(rec.name, [rec.name_id, rec.value_type, 0])
                entry[1] = rec.value_type
                entry[2] = max(entry[2], rec.step + 1)
        for name_id, name in state.names.items():
            self._names.setdefault(name, [name_id, -1, 0])
        self._pos = state.offset

    @property
    def position(self) -> int:
        """Where the next record goes: the bytes of whole records written so far."""
        return self._pos

    # -- writing -----------------------------------------------------------------------

    def log(self, name: str, value: Any, description: str = "", step: int | None = None) -> None:
        """Appends one scalar. ``step`` defaults to how often ``name`` was logged.

        The arguments are ``Run.log``'s (the SDK's ``description`` is accepted and not
        kept), so that an interactive or submitted run's ``log`` is this method itself:
        run.log is the hot path, and a wrapper's frame costs a third of it."""
        entry = self._names.get(name)
        if entry is None:
            entry = self._define(name)
        vt = type(value)
        if vt is float:
            code = TYPE_FLOAT
        elif vt is int:
            code = TYPE_INT
            if not _INT64_MIN <= value <= _INT64_MAX:
                code, value = TYPE_FLOAT, float(value)
        elif vt is bool:
            code = TYPE_BOOL
        else:
            self._log_other(name, entry, value, step)
            return
        if entry[1] >= TYPE_STR:  # str, or records (one comparison on the hot path)
            was = "str" if entry[1] == TYPE_STR else "a list, row, table or image"
            raise MetricTypeError(
                f"metric {name!r} was logged as {was} before; a value of type "
                f"{vt.__name__} cannot follow. Log numbers under another name"
            )
        if step is None:
            step = entry[2]
            if step > _INT64_MAX:
                step = _check_step(name, step)
        elif type(step) is not int or not _INT64_MIN <= step <= _INT64_MAX:
            step = _check_step(name, step)
        entry[1] = code
        entry[2] = step + 1
        if code == TYPE_INT:
            body = _pack_integer(KIND_NUMBER, code, entry[0], step, _now(), value)
        else:
            body = _pack_number(KIND_NUMBER, code, entry[0], step, _now(), value)
        lock = self._lock
        lock.acquire()
        try:
            pos = self._pos
            end = pos + _NUMBER_TOTAL
            if end > self._limit:
                self._grow(end)
            mm = self._mm
            mm[pos + HEADER_SIZE : end] = body
            # The header goes in last: a reader never sees a length before its body.
            _pack_header_into(mm, pos, _NUMBER_SIZE, _crc32(body))
            self._pos = end
        finally:
            lock.release()

    def _log_other(self, name: str, entry: list[int], value: Any, step: int | None) -> None:
        """The slow path: numpy scalars, strings, and refusals."""
        if isinstance(value, str):
            if entry[1] not in (-1, TYPE_STR):
                was = "a number" if entry[1] != _RECORDS else "a list, row, table or image"
                raise MetricTypeError(
                    f"metric {name!r} was logged as {was} before; a str cannot follow. "
                    "Log text under another name"
                )
            if len(value) > MAX_STRING_METRIC_LENGTH:
                raise ValidationError(
                    f"metric {name!r}: a str value of {len(value)} characters is over the "
                    f"limit of {MAX_STRING_METRIC_LENGTH}; upload long text with upload_file"
                )
            check_utf8(f"metric {name!r}: the str value", value)
            step = _check_step(name, entry[2] if step is None else step)
            entry[1], entry[2] = TYPE_STR, step + 1
            body = _STRING.pack(KIND_STRING, 0, entry[0], step, time.time()) + value.encode()
            self._append(body)
            return
        if isinstance(value, bool):  # numpy.bool_ is not a bool subclass, handled below
            self.log(name, bool(value), step=step)
            return
        if isinstance(value, int):
            self.log(name, int(value), step=step)
            return
        if isinstance(value, float):
            self.log(name, float(value), step=step)
            return
        kind = type(value).__module__
        if kind == "numpy" and getattr(value, "ndim", None) == 0:
            py = value.item()
            if isinstance(py, (bool, int, float)):
                self.log(name, py, step=step)
                return
        if hasattr(value, "item") and getattr(value, "numel", lambda: 0)() == 1:
            self.log(name, value.item(), step=step)  # a one-element torch tensor
            return
        raise MetricTypeError(
            f"metric {name!r}: cannot log a value of type {type(value).__name__}; "
            "log a float, int, bool or str (use log_list for sequences)"
        )

    def log_record(self, name: str, kind: str, payload: Any) -> None:
        """Appends a structured metric (list, row, table, image) as JSON."""
        entry = self._names.get(name)
        if entry is None:
            entry = self._define(name)
        if entry[1] not in (-1, _RECORDS):
            # get_metrics() shows one value per name: records would hide the scalars.
            raise MetricTypeError(
                f"metric {name!r} holds single values (run.log) already; log the {kind} "
                "under another name"
            )
        try:
            text = json.dumps({"kind": kind, "payload": payload}, allow_nan=True)
        except (TypeError, ValueError) as exc:
            raise MetricTypeError(
                f"metric {name!r}: {kind} values must be JSON-able: {exc}"
            ) from None
        self._append(_RECORD.pack(KIND_RECORD, entry[0], time.time()) + text.encode())
        entry[1] = _RECORDS

    def log_control(self, kind: str, payload: dict[str, Any]) -> None:
        """Appends a control record (``kind`` one of ``CONTROL_KINDS``): tags,
        properties or an upload for ingest to apply to the run."""
        if kind not in CONTROL_KINDS:
            raise ValidationError(
                f"control record kind {kind!r} is unknown; expected one of "
                f"{', '.join(sorted(CONTROL_KINDS))}"
            )
        if kind == "status" and self._failed:
            return  # logging failed: the final Failed record written then stands
        try:
            text = json.dumps({"kind": kind, "payload": payload}, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ValidationError(f"{kind}: values must be JSON-able strings: {exc}") from None
        self._append(_CONTROL.pack(KIND_CONTROL, time.time()) + text.encode())

    def _define(self, name: str) -> list[int]:
        check_metric_name(name)
        with self._lock:
            entry = self._names.get(name)
            if entry is None:
                if self._prefix and len(self._prefix) + len(name) > MAX_NAME_LENGTH:
                    raise ValidationError(
                        f"metric name {name[:40]!r}... is {len(name)} characters long; this "
                        f"rank stores it as {self._prefix + name[:8]!r}..., so the limit "
                        f"here is {MAX_NAME_LENGTH - len(self._prefix)}"
                    )
                entry = [len(self._names) + 1, -1, 0]
                self._append_locked(
                    _NAME.pack(KIND_NAME, entry[0]) + name.encode("utf-8", "surrogatepass")
                )
                self._names[name] = entry
        return entry

    def _append(self, body: bytes) -> None:
        with self._lock:
            self._append_locked(body)

    def _append_locked(self, body: bytes) -> None:
        pos = self._pos
        end = pos + HEADER_SIZE + len(body)
        if end > self._limit:
            self._grow(end)
        self._mm[pos + HEADER_SIZE : end] = body
        _HEADER.pack_into(self._mm, pos, len(body), zlib.crc32(body))
        self._pos = end

    def _grow(self, needed: int) -> None:
        cap = self._cap
        while cap - _SPARE < needed:
            cap += min(cap, _MAX_GROWTH)
        try:
            reserve(self._fd, self.path, self._cap, cap)
        except DiskFullError as exc:
            self._record_failure(str(exc))
            raise
        self._mm.close()
        self._mm = mmap.mmap(self._fd, cap)
        self._cap, self._limit = cap, cap - _SPARE

    def _record_failure(self, why: str) -> None:
        """Writes, into the spare, a final Failed status naming why logging failed
        (once): the run never ends Completed, whatever the script does next."""
        if self._failed:
            return
        self._failed = True
        error = f"logging failed, points were lost: {why}"[:_FAILURE_TEXT]
        payload = {"status": "Failed", "error": error, "final": True}
        text = json.dumps({"kind": "status", "payload": payload})
        body = _CONTROL.pack(KIND_CONTROL, time.time()) + text.encode()
        pos, end = self._pos, self._pos + HEADER_SIZE + len(body)
        if end <= self._cap:  # a journal reopened at its very end may have no spare
            self._mm[pos + HEADER_SIZE : end] = body
            _HEADER.pack_into(self._mm, pos, len(body), zlib.crc32(body))
            self._pos = end

    @property
    def size(self) -> int:
        """Bytes of whole records written so far."""
        return self._pos

    def flush(self) -> None:
        """Forces written records to disk (only power loss needs this)."""
        with self._lock:
            self._mm.flush()

    def close(self) -> None:
        with self._lock:
            if self.closed:
                return
            self.closed = True
            self._mm.close()
            os.close(self._fd)


def _check_step(name: str, step: object) -> int:
    if isinstance(step, bool) or not isinstance(step, int):
        if not hasattr(step, "__index__"):
            raise MetricTypeError(
                f"metric {name!r}: step must be an int, got {type(step).__name__}"
            )
        step = int(step.__index__())  # numpy ints: range-checked like any int (np.uint64)
    if not _INT64_MIN <= step <= _INT64_MAX:
        raise ValidationError(f"metric {name!r}: step {step} does not fit in 64 bits")
    return step
