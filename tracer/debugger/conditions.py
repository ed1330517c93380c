"""Breakpoint conditions on a step's statistics, such as `max > 30`, `nan` or `rms < 0.5 and std > 2`.

The grammar is small and parsed by hand, never evaluated as Python:

    condition  := or_expr
    or_expr    := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | "(" condition ")" | comparison | "nan" | "inf"
    comparison := operand (OP operand)+         # chains as in Python: 0.5 < rms < 2
    operand    := STAT | NUMBER | "-" operand
    OP         := < <= > >= == !=

STAT is one of mean, std, rms, min, max, absmax (max of |min| and |max|), nan and inf (the
counts of NaN and Inf elements) or numel. A bare `nan` or `inf` is true when the count is
above zero. A comparison with a NaN statistic is false, as in IEEE arithmetic.
"""

from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass
from typing import Callable

from ..stats import Stats
from .errors import DebuggerError

STAT_NAMES = ("mean", "std", "rms", "min", "max", "absmax", "nan", "inf", "numel")
COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}
_TOKEN = re.compile(
    r"\s*(?:(?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)|(?P<op><=|>=|==|!=|<|>)"
    r"|(?P<word>[A-Za-z_]\w*)|(?P<punct>[()\-]))"
)


def stat_value(stats: Stats, name: str) -> float:
    """Return the statistic `name` (one of STAT_NAMES) of `stats`."""
    if name == "nan":
        return float(stats.nan_count)
    if name == "inf":
        return float(stats.inf_count)
    if name == "absmax":
        return max(abs(stats.min), abs(stats.max))
    if name == "numel":
        return float(stats.numel)
    return float(getattr(stats, name))


@dataclass(frozen=True)
class Condition:
    """A parsed condition; `text` is the source as written, `tree` the parsed form."""

    text: str
    tree: tuple

    def __call__(self, stats: Stats) -> bool:
        return _evaluate(self.tree, stats)

    def __str__(self) -> str:
        return self.text


def parse_condition(text: str) -> Condition:
    """Parse `text` into a Condition; raises DebuggerError naming the bad part."""
    tokens = _tokenize(text)
    if not tokens:
        raise _error(text, "empty")
    parser = _Parser(text, tokens)
    tree = parser.parse_or()
    if parser.position != len(tokens):
        raise _error(text, "unexpected", token=tokens[parser.position][1])
    return Condition(" ".join(text.split()), tree)


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise _error(text, "unexpected", token=text[position:].strip().split()[0][:20])
        kind = match.lastgroup
        value = match.group(kind)
        if kind == "word":
            lowered = value.lower()
            if lowered in ("and", "or", "not"):
                kind, value = "logic", lowered
            elif lowered in STAT_NAMES:
                kind, value = "stat", lowered
            else:
                raise _error(text, "unknown_stat", token=value)
        tokens.append((kind, value))
        position = match.end()
    return tokens


class _Parser:
    """Recursive descent over the token list; each method returns a tuple tree."""

    def __init__(self, text: str, tokens: list[tuple[str, str]]):
        self.text = text
        self.tokens = tokens
        self.position = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise _error(self.text, "incomplete")
        self.position += 1
        return token

    def parse_or(self) -> tuple:
        terms = [self.parse_and()]
        while self.peek() == ("logic", "or"):
            self.take()
            terms.append(self.parse_and())
        return terms[0] if len(terms) == 1 else ("or", *terms)

    def parse_and(self) -> tuple:
        terms = [self.parse_not()]
        while self.peek() == ("logic", "and"):
            self.take()
            terms.append(self.parse_not())
        return terms[0] if len(terms) == 1 else ("and", *terms)

    def parse_not(self) -> tuple:
        token = self.peek()
        if token == ("logic", "not"):
            self.take()
            return ("not", self.parse_not())
        if token == ("punct", "("):
            self.take()
            inner = self.parse_or()
            if self.peek() != ("punct", ")"):
                raise _error(self.text, "unclosed")
            self.take()
            return inner
        return self.parse_comparison()

    def parse_comparison(self) -> tuple:
        first = self.parse_operand()
        pairs = []
        while self.peek() is not None and self.peek()[0] == "op":
            op = self.take()[1]
            pairs.append((op, self.parse_operand()))
        if pairs:
            return ("compare", first, tuple(pairs))
        if first[0] == "stat" and first[1] in ("nan", "inf"):
            return ("compare", first, ((">", ("number", 0.0)),))
        raise _error(self.text, "needs_comparison", token=_operand_text(first))

    def parse_operand(self) -> tuple:
        kind, value = self.take()
        if kind == "punct" and value == "-":
            return ("neg", self.parse_operand())
        if kind == "number":
            return ("number", float(value))
        if kind == "stat":
            return ("stat", value)
        raise _error(self.text, "unexpected", token=value)


def _operand_text(operand: tuple) -> str:
    if operand[0] == "neg":
        return "-" + _operand_text(operand[1])
    return str(operand[1]) if operand[0] == "stat" else f"{operand[1]:g}"


def _value(operand: tuple, stats: Stats) -> float:
    kind = operand[0]
    if kind == "number":
        return operand[1]
    if kind == "neg":
        return -_value(operand[1], stats)
    return stat_value(stats, operand[1])


def _evaluate(tree: tuple, stats: Stats) -> bool:
    kind = tree[0]
    if kind == "or":
        return any(_evaluate(term, stats) for term in tree[1:])
    if kind == "and":
        return all(_evaluate(term, stats) for term in tree[1:])
    if kind == "not":
        return not _evaluate(tree[1], stats)
    left = _value(tree[1], stats)
    for op, operand in tree[2]:
        right = _value(operand, stats)
        if math.isnan(left) or math.isnan(right) or not COMPARISONS[op](left, right):
            return False
        left = right
    return True


def _error(text: str, reason: str, token: str = "") -> DebuggerError:
    messages = {
        "empty": "the condition is empty",
        "unexpected": f"unexpected {token!r}",
        "unknown_stat": f"{token!r} is not a statistic",
        "incomplete": "the condition ends too early",
        "unclosed": "a '(' is not closed",
        "needs_comparison": f"{token!r} needs a comparison such as {token} > 1",
    }
    stats = ", ".join(STAT_NAMES)
    return DebuggerError(
        f"invalid condition {text.strip()!r}: {messages[reason]}; write comparisons of {stats} "
        f"joined by and/or/not, such as 'max > 30' or 'nan'",
        key=f"debug.error.condition_{reason}",
        condition=text.strip(),
        token=token,
        stats=stats,
    )
