"""The runs filter language, shared by the studio's runs table, the API and the CLI:

    metrics.val_acc > 0.9 and params.lr < 0.01 and tags.model = "cnn"
    (tags.kind = "cnn" or tags.kind = "mlp") and min(metrics.loss) <= 0.2
    status != "Failed" and duration > 60

A comparison is ``FIELD OP LITERAL`` with OP one of ``= == != < <= > >=``; comparisons
join with ``and``/``or`` (``and`` binds tighter) and parentheses. Fields:

- ``metrics.NAME``: the metric's last value; ``min(metrics.NAME)`` / ``max(...)`` /
  ``last(...)`` name the summary; ``at(metrics.NAME, STEP)`` is its value at a step (the
  last logged there; a run with no point there has none). A name with other characters
  is quoted: ``metrics."val acc"``.
- ``params.NAME``: the script argument ``--NAME value`` (or ``--NAME=value``).
- ``tags.NAME``, ``properties.NAME``.
- ``status``, ``name`` (display name), ``number``, ``duration`` (seconds), ``compute``.

A number literal compares numerically (a tag or argument holding "0.01" is a number
then); a string literal compares as text. A run lacking the field never matches, not
even ``!=``. A syntax error names the token and its 1-based position.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from runyard.entities import MetricSummary, RunInfo
from runyard.errors import ValidationError

PREFIXES = ("metrics", "params", "tags", "properties")
ATTRIBUTES = ("status", "name", "number", "duration", "compute")
AGGREGATES = ("last", "min", "max")
OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}

_TOKEN = re.compile(
    r"""(?P<space>\s+)
      | (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![\w.]))
      | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<op>==|!=|<=|>=|=|<|>)
      | (?P<paren>[()])
      | (?P<comma>,)
      | (?P<dot>\.)
      | (?P<word>[A-Za-z_][\w/\-]*)
    """,
    re.VERBOSE,
)


class FilterSyntaxError(ValidationError):
    """A filter that does not parse; the message names the token and its position."""


@dataclass(frozen=True)
class Token:
    kind: str  # number, string, op, paren, dot, word, end
    text: str
    position: int  # 1-based


@dataclass(frozen=True)
class Field:
    prefix: str  # metrics, params, tags, properties, or "" for an attribute
    name: str
    aggregate: str = "last"  # or "at": the value at ``step``
    step: int | None = None

    def label(self) -> str:
        base = f"{self.prefix}.{self.name}" if self.prefix else self.name
        if self.aggregate == "at":
            return f"at({base}, {self.step})"
        return base if self.aggregate == "last" else f"{self.aggregate}({base})"

    @property
    def step_key(self) -> str:
        """The key its value is kept under beside the run's summaries."""
        return f"{self.name}@{self.step}"


@dataclass(frozen=True)
class Comparison:
    field: Field
    op: str
    value: float | str


@dataclass(frozen=True)
class BoolOp:
    op: str  # and, or
    parts: tuple[Node, ...]


Node = Comparison | BoolOp


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise FilterSyntaxError(
                f"filter: unexpected {text[pos]!r} at position {pos + 1}; "
                'compare a field to a literal, e.g. metrics.loss < 0.1 and tags.model = "cnn"'
            )
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append(Token(kind, match.group(), pos + 1))
        pos = match.end()
    tokens.append(Token("end", "", len(text) + 1))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.i = 0

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def fail(self, token: Token, expected: str) -> FilterSyntaxError:
        if token.kind == "end":
            return FilterSyntaxError(
                f"filter: ends at position {token.position}; expected {expected}"
            )
        return FilterSyntaxError(
            f"filter: unexpected {token.text!r} at position {token.position}; expected {expected}"
        )

    def parse(self) -> Node:
        node = self.expression()
        if self.peek().kind != "end":
            raise self.fail(self.peek(), "'and', 'or' or ')'")
        return node

    def expression(self) -> Node:
        parts = [self.conjunction()]
        while self.is_word("or"):
            self.take()
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else BoolOp("or", tuple(parts))

    def conjunction(self) -> Node:
        parts = [self.atom()]
        while self.is_word("and"):
            self.take()
            parts.append(self.atom())
        return parts[0] if len(parts) == 1 else BoolOp("and", tuple(parts))

    def is_word(self, word: str) -> bool:
        token = self.peek()
        return token.kind == "word" and token.text.lower() == word

    def atom(self) -> Node:
        if self.peek().text == "(":
            self.take()
            node = self.expression()
            closing = self.take()
            if closing.text != ")":
                raise self.fail(closing, "')'")
            return node
        field = self.field()
        op = self.take()
        if op.kind != "op":
            raise self.fail(op, "an operator (= != < <= > >=)")
        literal = self.take()
        if literal.kind == "number":
            return Comparison(field, op.text, float(literal.text))
        if literal.kind == "string":
            return Comparison(field, op.text, _unquote(literal.text))
        raise self.fail(literal, 'a number or a quoted string, e.g. 0.5 or "cnn"')

    def field(self) -> Field:
        token = self.take()
        if token.kind != "word":
            raise self.fail(token, "a field such as metrics.loss, params.lr or tags.model")
        word = token.text.lower()
        if word == "at" and self.peek().text == "(":
            return self.at_step(token)
        if word in AGGREGATES and self.peek().text == "(":
            self.take()
            inner = self.field()
            closing = self.take()
            if closing.text != ")":
                raise self.fail(closing, "')'")
            if inner.prefix != "metrics":
                raise FilterSyntaxError(
                    f"filter: {word}() at position {token.position} takes a metric, "
                    f"e.g. {word}(metrics.loss)"
                )
            return replace(inner, aggregate=word)
        if word in ATTRIBUTES:
            return Field("", word)
        if word not in PREFIXES:
            raise FilterSyntaxError(
                f"filter: unknown field {token.text!r} at position {token.position}; "
                f"fields are {', '.join(p + '.NAME' for p in PREFIXES)} "
                f"or {', '.join(ATTRIBUTES)}"
            )
        dot = self.take()
        if dot.kind != "dot":
            raise self.fail(dot, f"'.' and a name after {token.text!r}")
        name = self.take()
        if name.kind == "string":
            return Field(word, _unquote(name.text))
        if name.kind != "word":
            raise self.fail(name, f"a name after '{token.text}.'")
        text = name.text
        # Dotted names (metrics.train.loss) read as one name.
        while self.peek().kind == "dot" and self.tokens[self.i + 1].kind == "word":
            self.take()
            text += "." + self.take().text
        return Field(word, text)

    def at_step(self, token: Token) -> Field:
        """``at(metrics.NAME, STEP)``."""
        self.take()
        inner = self.field()
        if inner.prefix != "metrics":
            raise FilterSyntaxError(
                f"filter: at() at position {token.position} takes a metric and a step, "
                "e.g. at(metrics.loss, 100)"
            )
        comma = self.take()
        step = self.take()
        closing = self.take()
        if comma.kind != "comma" or step.kind != "number" or closing.text != ")":
            raise self.fail(
                closing if step.kind == "number" else step, "a step: at(metrics.NAME, 100)"
            )
        if not float(step.text).is_integer():
            raise FilterSyntaxError(
                f"filter: the step {step.text!r} at position {step.position} is not a whole number"
            )
        return replace(inner, aggregate="at", step=int(float(step.text)))


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text[1:-1])


@dataclass(frozen=True)
class RunFilter:
    """A parsed filter: ``matches(run, summaries)`` and the metrics it reads."""

    text: str
    root: Node

    def metric_names(self) -> list[str]:
        names = {
            c.field.name
            for c in _comparisons(self.root)
            if c.field.prefix == "metrics" and c.field.aggregate != "at"
        }
        return sorted(names)

    def step_fields(self) -> list[Field]:
        """The ``at(metrics.NAME, STEP)`` fields, read beside the summaries."""
        return sorted(
            {c.field for c in _comparisons(self.root) if c.field.aggregate == "at"},
            key=Field.label,
        )

    def matches(self, run: RunInfo, summaries: Mapping[str, MetricSummary]) -> bool:
        return _evaluate(self.root, run, summaries)


def parse_filter(text: str) -> RunFilter:
    """Parses ``text``; FilterSyntaxError (a ValidationError, HTTP 400) when it does not."""
    if not text.strip():
        raise FilterSyntaxError("filter: empty; e.g. metrics.loss < 0.1")
    return RunFilter(text, _Parser(text).parse())


def _comparisons(node: Node) -> Iterator[Comparison]:
    if isinstance(node, Comparison):
        yield node
    else:
        for part in node.parts:
            yield from _comparisons(part)


def _evaluate(node: Node, run: RunInfo, summaries: Mapping[str, MetricSummary]) -> bool:
    if isinstance(node, BoolOp):
        parts = (_evaluate(p, run, summaries) for p in node.parts)
        return all(parts) if node.op == "and" else any(parts)
    value = field_value(node.field, run, summaries)
    if value is None:
        return False
    wanted = node.value
    if isinstance(wanted, float):
        number = _as_number(value)
        if number is None or math.isnan(number):
            return False
        return OPERATORS[node.op](number, wanted)
    return OPERATORS[node.op](_as_text(value), wanted)


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def argument_value(arguments: Any, name: str) -> str | None:
    """``--name value`` or ``--name=value`` in a script's argument list."""
    if not isinstance(arguments, Sequence) or isinstance(arguments, str):
        return None
    items = [str(a) for a in arguments]
    for i, item in enumerate(items):
        if item == f"--{name}" and i + 1 < len(items):
            return items[i + 1]
        if item.startswith(f"--{name}="):
            return item.split("=", 1)[1]
    return None


def parameters(arguments: Any) -> dict[str, str]:
    """Every ``--name value`` / ``--name=value`` of a script's argument list."""
    if not isinstance(arguments, Sequence) or isinstance(arguments, str):
        return {}
    found: dict[str, str] = {}
    for item in (str(a) for a in arguments):
        if item.startswith("--") and len(item) > 2:
            name = item[2:].split("=", 1)[0]
            value = argument_value(arguments, name)
            if value is not None:
                found.setdefault(name, value)
    return found


def field_value(field: Field, run: RunInfo, summaries: Mapping[str, MetricSummary]) -> Any:
    """The run's value of ``field``, or None when it has none."""
    if field.prefix == "metrics" and field.aggregate == "at":
        summary = summaries.get(field.step_key)
        return None if summary is None else summary.last
    if field.prefix == "metrics":
        summary = summaries.get(field.name)
        if summary is None:
            return None
        return getattr(summary, field.aggregate)
    if field.prefix == "params":
        return argument_value(run.definition.get("arguments"), field.name)
    if field.prefix == "tags":
        return run.tags.get(field.name)
    if field.prefix == "properties":
        return run.properties.get(field.name)
    if field.name == "status":
        return run.status.value
    if field.name == "name":
        return run.display_name
    if field.name == "number":
        return run.number
    if field.name == "duration":
        return run.duration
    return run.compute_target
