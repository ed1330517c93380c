"""trace_generation and trace_prompt: passes, tokens and the tokens they choose."""

from __future__ import annotations

import pytest
import torch

from minimind import load_checkpoint
from tracer import TraceError, trace_generation, trace_prompt

from .conftest import PARITY


class _StubTokenizer:
    """Just enough tokenizer for id labels and an eos id."""

    bos_token_id = 1

    def __init__(self, eos_token_id):
        self.eos_token_id = eos_token_id

    def encode(self, text):
        return [ord(ch) % 200 + 3 for ch in text]

    def decode(self, ids):
        return "|".join(map(str, ids))

    def token_labels(self, ids):
        return [f"t{i}" for i in ids]


def _model(variant="m3_dense"):
    return load_checkpoint(PARITY / variant / "model.pth")


@pytest.mark.parametrize("variant", ["m3_dense", "m2_moe"])
def test_generation_matches_greedy_generate(variant):
    model = _model(variant)
    prompt = [1, 12, 40, 77]
    trace = trace_generation(model, None, prompt, n=5)
    expected = model.generate(torch.tensor([prompt]), max_new_tokens=6, do_sample=False, eos_token_id=None)[0].tolist()
    generation = trace.info.generation
    assert list(trace.tokens.ids[0]) == expected[:-1]
    assert generation["generated_ids"] == expected[len(prompt) : -1]
    assert generation["next_token_id"] == expected[-1]
    assert len(trace.passes) == 6
    assert [step.pass_index for step in trace.steps_of("logits")] == list(range(6))


def test_generation_pass_zero_equals_prompt_trace():
    model = _model()
    generated = trace_generation(model, None, [1, 12, 40], n=2)
    single = trace_prompt(model, None, [1, 12, 40])
    for step in single:
        assert torch.equal(generated[step.site, 0], single[step.site]), step.site


def test_generation_stops_at_eos():
    model = _model()
    first = trace_generation(model, None, [1, 12, 40], n=1).info.generation["generated_ids"][0]
    trace = trace_generation(model, _StubTokenizer(eos_token_id=first), [1, 12, 40], n=3)
    assert trace.info.generation["generated_ids"] == []
    assert trace.info.generation["stopped_at_eos"] is True
    assert len(trace.passes) == 1


def test_text_prompt_gets_bos_and_labels():
    model = _model()
    trace = trace_prompt(model, _StubTokenizer(eos_token_id=2), "abc", sites="logits")
    assert trace.tokens.ids[0][0] == 1
    assert trace.tokens.labels[0] == tuple(f"t{i}" for i in trace.tokens.ids[0])
    assert trace.prompt == "abc"
    no_bos = trace_prompt(model, _StubTokenizer(eos_token_id=2), "abc", sites="logits", add_bos=False)
    assert no_bos.tokens.ids[0] == trace.tokens.ids[0][1:]


def test_prompt_errors():
    model = _model()
    with pytest.raises(TraceError, match="needs a tokenizer"):
        trace_prompt(model, None, "hello")
    with pytest.raises(TraceError, match="empty"):
        trace_prompt(model, _StubTokenizer(2), "  ")
    with pytest.raises(TraceError, match="token id 300 is outside.*vocab_size 256"):
        trace_prompt(model, None, [1, 300])
    with pytest.raises(TraceError, match="at most 505"):
        trace_generation(model, None, list(range(3, 203)) * 3, n=7)
    with pytest.raises(TraceError, match="-1"):
        trace_generation(model, None, [1, 2], n=-1)
