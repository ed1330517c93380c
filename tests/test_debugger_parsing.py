"""Breakpoint conditions and index expressions: parsed by hand, never evaluated as Python."""

from __future__ import annotations

import math

import pytest
import torch

from tracer.debugger.conditions import parse_condition
from tracer.debugger.errors import DebuggerError
from tracer.debugger.slicing import apply_index, format_index, parse_index, split_target
from tracer.stats import Stats

STATS = Stats(numel=10, mean=0.1, std=2.5, rms=2.0, min=-5.0, max=40.0, nan_count=0, inf_count=0)
WITH_NAN = Stats(numel=10, mean=0.1, std=2.5, rms=2.0, min=-5.0, max=40.0, nan_count=3, inf_count=0)
ALL_NAN = Stats(numel=4, mean=math.nan, std=math.nan, rms=math.nan, min=math.nan, max=math.nan, nan_count=4, inf_count=0)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("max > 30", True),
        ("max > 40", False),
        ("max >= 40", True),
        ("nan", False),
        ("inf", False),
        ("not nan", True),
        ("rms < 0.5 and std > 2", False),
        ("rms < 3 and std > 2", True),
        ("rms < 0.5 or std > 2", True),
        ("min > -6", True),
        ("min>-4.5e0", False),
        ("absmax == 40", True),
        ("1 < rms <= 2", True),
        ("0.5 < rms < 2", False),
        ("numel != 10", False),
        ("not (max > 30 and min < 0)", False),
        ("MAX > 30 AND NOT NAN", True),
    ],
)
def test_condition_values(text, expected):
    assert parse_condition(text)(STATS) is expected


def test_condition_nan_counts():
    assert parse_condition("nan")(WITH_NAN) is True
    assert parse_condition("nan > 2")(WITH_NAN) is True
    assert parse_condition("nan > 3")(WITH_NAN) is False


def test_condition_nan_statistic_compares_false():
    assert parse_condition("max > 0")(ALL_NAN) is False
    assert parse_condition("max <= 0")(ALL_NAN) is False
    assert parse_condition("nan")(ALL_NAN) is True


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("", "empty"),
        ("max >", "ends too early"),
        ("foo > 2", "'foo' is not a statistic"),
        ("rms", "needs a comparison"),
        ("(max > 1", "not closed"),
        ("max > 1 )", "unexpected ')'"),
        ("max > 1 and", "ends too early"),
        ("__import__('os').system('true')", "'__import__' is not a statistic"),
        ("max > 1; rms", "unexpected ';'"),
    ],
)
def test_condition_errors(text, fragment):
    with pytest.raises(DebuggerError) as caught:
        parse_condition(text)
    message = str(caught.value)
    assert fragment in message
    assert "\n" not in message
    assert "max > 30" in message  # the message shows a valid example


def test_index_parse_and_format():
    assert parse_index("[0, 3]") == (0, 3)
    assert parse_index("[0, :, 1:4]") == (0, slice(None), slice(1, 4))
    assert parse_index("[..., -1]") == (Ellipsis, -1)
    assert parse_index("[::2]") == (slice(None, None, 2),)
    assert parse_index("[]") == ()
    assert format_index(parse_index("[0, :, 1:4:2, ...]")) == "[0, :, 1:4:2, ...]"


@pytest.mark.parametrize("text", ["0, 3", "[a]", "[1.5]", "[..., ...]", "[::0]", "[1:2:3:4]", "[__import__]"])
def test_index_errors(text):
    with pytest.raises(DebuggerError):
        parse_index(text)


def test_index_apply_keeps_dimension_labels():
    tensor = torch.arange(2 * 4 * 3 * 3).reshape(2, 4, 3, 3)
    dims = ("batch", "head", "query", "key")
    part, remaining = apply_index(tensor, dims, parse_index("[0, 3]"))
    assert torch.equal(part, tensor[0, 3])
    assert remaining == ("query", "key")
    part, remaining = apply_index(tensor, dims, parse_index("[..., -1]"))
    assert torch.equal(part, tensor[..., -1])
    assert remaining == ("batch", "head", "query")
    part, remaining = apply_index(tensor, dims, parse_index("[1, 1:3, :, 0]"))
    assert part.shape == (2, 3)
    assert remaining == ("head", "query")


def test_index_apply_errors_name_the_dimension():
    tensor = torch.zeros(1, 4, 3, 3)
    dims = ("batch", "head", "query", "key")
    with pytest.raises(DebuggerError, match=r"dimension 1 \(head\) of size 4"):
        apply_index(tensor, dims, parse_index("[0, 9]"))
    with pytest.raises(DebuggerError, match="has 5 items but the tensor has 4 dimensions"):
        apply_index(tensor, dims, parse_index("[0, 0, 0, 0, 0]"))


def test_split_target():
    assert split_target("layers.0.attn.probs[0, 3]") == ("layers.0.attn.probs", "[0, 3]")
    assert split_target("logits") == ("logits", None)
    assert split_target("[0]") == ("", "[0]")
