"""Parameter expressions and the search space: what each trial's arguments are drawn from.

An expression keeps the SDK's serialized shape, ``[name, [arguments]]`` (``choice(16, 32)``
is ``["choice", [[16, 32]]]``), so a sweep's space is plain JSON in its definition and
reads back unchanged after a restart. As in the SDK, ``loguniform(a, b)`` and
``lognormal(mu, sigma)`` take their bounds in log space: the value is ``exp`` of a
uniform (normal) draw; the ``q`` forms round to a multiple of ``q``.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Mapping, Sequence
from typing import Any

from runyard.errors import ValidationError

Expression = list[Any]  # [name, [arguments]]
Space = Mapping[str, Expression]

# name -> how many arguments it takes
ARITY = {
    "choice": 1,
    "randint": 1,
    "uniform": 2,
    "quniform": 3,
    "loguniform": 2,
    "qloguniform": 3,
    "normal": 2,
    "qnormal": 3,
    "lognormal": 2,
    "qlognormal": 3,
}


def choice(*options: Any) -> Expression:
    """One of ``options``: ``choice(16, 32, 64)`` or ``choice([16, 32, 64])``."""
    values = (
        list(options[0])
        if len(options) == 1 and isinstance(options[0], list | tuple | range)
        else list(options)
    )
    if not values:
        raise ValidationError("choice() needs at least one option")
    return ["choice", [values]]


def randint(upper: int) -> Expression:
    """An integer in ``[0, upper)``."""
    return ["randint", [int(upper)]]


def uniform(min_value: float, max_value: float) -> Expression:
    return ["uniform", [min_value, max_value]]


def quniform(min_value: float, max_value: float, q: float) -> Expression:
    return ["quniform", [min_value, max_value, q]]


def loguniform(min_value: float, max_value: float) -> Expression:
    """``exp(uniform(min_value, max_value))``: the bounds are natural logarithms."""
    return ["loguniform", [min_value, max_value]]


def qloguniform(min_value: float, max_value: float, q: float) -> Expression:
    return ["qloguniform", [min_value, max_value, q]]


def normal(mu: float, sigma: float) -> Expression:
    return ["normal", [mu, sigma]]


def qnormal(mu: float, sigma: float, q: float) -> Expression:
    return ["qnormal", [mu, sigma, q]]


def lognormal(mu: float, sigma: float) -> Expression:
    return ["lognormal", [mu, sigma]]


def qlognormal(mu: float, sigma: float, q: float) -> Expression:
    return ["qlognormal", [mu, sigma, q]]


def check_space(space: Mapping[str, Any]) -> dict[str, Expression]:
    """The space as plain JSON, or ValidationError naming the bad parameter."""
    if not isinstance(space, Mapping) or not space:
        raise ValidationError(
            "a parameter space is a non-empty dict of name -> expression, "
            "e.g. {'--lr': uniform(0.001, 0.1)}"
        )
    out: dict[str, Expression] = {}
    for name, expr in space.items():
        if not isinstance(name, str) or not name.strip("-"):
            raise ValidationError(f"parameter name {name!r} must be a non-empty string")
        if (
            not isinstance(expr, list | tuple)
            or len(expr) != 2
            or expr[0] not in ARITY
            or not isinstance(expr[1], list | tuple)
            or len(expr[1]) != ARITY[expr[0]]
        ):
            raise ValidationError(
                f"parameter {name!r}: {expr!r} is not an expression; use choice, randint, "
                "uniform, quniform, loguniform, qloguniform, normal, qnormal, lognormal or "
                "qlognormal from runyard.train.hyperdrive"
            )
        kind, args = expr[0], list(expr[1])
        if kind == "choice" and (not isinstance(args[0], list | tuple) or not args[0]):
            raise ValidationError(f"parameter {name!r}: choice() needs at least one option")
        if kind in ("uniform", "quniform", "loguniform", "qloguniform") and args[0] > args[1]:
            raise ValidationError(f"parameter {name!r}: {kind} min {args[0]} > max {args[1]}")
        if kind == "randint" and args[0] < 1:
            raise ValidationError(f"parameter {name!r}: randint(upper) needs upper >= 1")
        if kind.startswith("q") and args[2] <= 0:
            raise ValidationError(f"parameter {name!r}: {kind} needs q > 0")
        out[name] = [kind, [list(args[0]) if kind == "choice" else args[0], *args[1:]]]
    return out


def _q(value: float, q: float) -> float:
    return round(value / q) * q


def draw(expr: Expression, rng: random.Random) -> Any:
    """One value of ``expr`` drawn with ``rng``."""
    kind, args = expr[0], expr[1]
    if kind == "choice":
        return rng.choice(list(args[0]))
    if kind == "randint":
        return rng.randrange(int(args[0]))
    if kind == "uniform":
        return rng.uniform(args[0], args[1])
    if kind == "quniform":
        return _q(rng.uniform(args[0], args[1]), args[2])
    if kind == "loguniform":
        return math.exp(rng.uniform(args[0], args[1]))
    if kind == "qloguniform":
        return _q(math.exp(rng.uniform(args[0], args[1])), args[2])
    if kind == "normal":
        return rng.gauss(args[0], args[1])
    if kind == "qnormal":
        return _q(rng.gauss(args[0], args[1]), args[2])
    if kind == "lognormal":
        return math.exp(rng.gauss(args[0], args[1]))
    if kind == "qlognormal":
        return _q(math.exp(rng.gauss(args[0], args[1])), args[2])
    raise ValidationError(f"unknown expression {kind!r}")


def grid(space: Space) -> list[dict[str, Any]]:
    """Every combination of a space of ``choice`` expressions, in a fixed order."""
    bad = [name for name, expr in space.items() if expr[0] != "choice"]
    if bad:
        raise ValidationError(
            f"GridParameterSampling takes choice() expressions only; {', '.join(bad)} "
            "is not one: use RandomParameterSampling or BayesianParameterSampling for ranges"
        )
    names = list(space)
    values: Sequence[Sequence[Any]] = [space[n][1][0] for n in names]
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*values)]


def arguments(params: Mapping[str, Any]) -> list[str]:
    """A trial's command-line arguments: ``{'--lr': 0.01}`` -> ``['--lr', '0.01']``
    (a name without leading dashes gets ``--``, as the SDK passes it)."""
    out: list[str] = []
    for name, value in params.items():
        out += [name if name.startswith("-") else f"--{name}", str(value)]
    return out
