"""Trace files: round trips, lazy reads, atomic writes and one-line errors for bad files."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors import SafetensorError
from safetensors.torch import save_file

from minimind import load_checkpoint
from tracer import SCHEMA_VERSION, Tracer, TraceError, open_trace, save_trace, trace_generation, trace_prompt
from tracer.trace import MemoryStore, Trace
import tracer.tracefile as tracefile

from .conftest import PARITY


def _model(variant="m3_dense"):
    return load_checkpoint(PARITY / variant / "model.pth")


def _assert_one_line(error: pytest.ExceptionInfo, *fragments: str) -> None:
    message = str(error.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message


@pytest.mark.parametrize("mode", ["full", "stats"])
def test_round_trip(tmp_path, mode):
    model = _model("m2_moe")
    trace = trace_generation(model, None, [1, 9, 33, 70], n=2, mode=mode)
    path = save_trace(trace, tmp_path / "run.mmtrace")
    with open_trace(path) as loaded:
        assert [s.to_dict() for s in loaded.steps] == [s.to_dict() for s in trace.steps]
        assert loaded.tokens == trace.tokens
        assert loaded.passes == trace.passes
        assert loaded.config == trace.config
        assert loaded.weights_sha256 == trace.weights_sha256
        assert loaded.info.generation == trace.info.generation
        assert loaded.mode == mode
        if mode == "full":
            for step in trace:
                assert torch.equal(loaded[step.site, step.pass_index], trace[step.site, step.pass_index]), step.site
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.mmtrace"]


def test_round_trip_grads_and_dtype(tmp_path):
    trace = trace_prompt(_model(), None, [1, 9, 33, 70], grads=True, dtype="bfloat16")
    save_trace(trace, tmp_path / "g.mmtrace")
    loaded = open_trace(tmp_path / "g.mmtrace")
    assert loaded.info.storage_dtype == "bfloat16"
    assert loaded["layers.0.attn.q"].dtype == torch.bfloat16
    assert torch.equal(loaded.grad("logits"), trace.grad("logits"))
    assert loaded.step("logits").grad_stats == trace.step("logits").grad_stats


def test_non_finite_stats_round_trip(tmp_path):
    model = _model()
    with torch.no_grad():
        model.model.embed_tokens.weight[5] = float("inf")
    trace = trace_prompt(model, None, [1, 5, 9], mode="stats")
    save_trace(trace, tmp_path / "inf.mmtrace")
    text = _metadata(tmp_path / "inf.mmtrace")["trace"]
    metadata = json.loads(text, parse_constant=lambda name: pytest.fail(f"bare {name} in the trace JSON"))
    assert metadata["steps"][0]["stats"]["inf_count"] == 64
    assert open_trace(tmp_path / "inf.mmtrace").stats("embed") == trace.stats("embed")


def test_views_of_one_buffer_save(tmp_path):
    trace = trace_prompt(_model(), None, [1, 9, 33], sites="logits")
    buffer = torch.arange(12.0)
    shared = Trace(trace.steps, trace.info, MemoryStore({"p0/logits": trace["logits"], "a": buffer[:6], "b": buffer[6:]}))
    save_trace(shared, tmp_path / "views.mmtrace")
    assert torch.equal(open_trace(tmp_path / "views.mmtrace")._store.get("b"), buffer[6:])


_MEASURE_READ = """
import os, sys
from tracer import open_trace

path = os.path.realpath(sys.argv[1])

def trace_resident():
    # Resident bytes of the trace file's own mappings. RssFile would also count pages of
    # libtorch that the first tensor op faults in, which depend on the page cache, not on us.
    total, inside = 0, False
    for line in open("/proc/self/smaps"):
        parts = line.split()
        if parts and not parts[0].endswith(":"):
            inside = len(parts) > 5 and parts[5] == path
        elif inside and parts[0] == "Rss:":
            total += int(parts[1]) * 1024
    return total

def counters():
    status = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines() if ":" in line)
    io = dict(line.split(":", 1) for line in open("/proc/self/io").read().splitlines())
    return int(io["rchar"]), trace_resident(), int(status["RssAnon"].split()[0]) * 1024

start = counters()
trace = open_trace(path)
tensor = trace[sys.argv[2]]
tensor.sum()
print(*[after - before for before, after in zip(start, counters())])
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/io and /proc/self/status")
def test_reading_one_site_reads_only_it(tmp_path):
    model = _model()
    ids = torch.randint(3, 256, (8, 256), generator=torch.Generator().manual_seed(0))
    with torch.no_grad(), Tracer(model) as tracer:
        model(ids)
    path = save_trace(tracer.trace, tmp_path / "big.mmtrace")
    size = path.stat().st_size
    assert size > 60e6

    # A fresh process, so memory freed earlier cannot hide what opening the file costs. It
    # counts bytes read by read() calls, the trace file's resident pages and anonymous memory.
    result = subprocess.run(
        [sys.executable, "-c", _MEASURE_READ, str(path), "layers.1.attn_norm.rms_in"],
        capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parents[1],
    )
    read_bytes, file_resident, anon_resident = map(int, result.stdout.split())
    assert read_bytes < size / 8, read_bytes
    assert file_resident < size / 8, file_resident
    assert anon_resident < size / 8, anon_resident


def test_missing_folder_leaves_nothing(tmp_path):
    trace = trace_prompt(_model(), None, [1, 2, 3], sites="logits")
    with pytest.raises(TraceError) as caught:
        save_trace(trace, tmp_path / "nope" / "run.mmtrace")
    _assert_one_line(caught, "does not exist")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_saved_file_follows_umask(tmp_path):
    # safetensors writes owner-only files; a trace should be as readable as any other output.
    trace = trace_prompt(_model(), None, [1, 2, 3], sites="logits")
    old = os.umask(0o022)
    try:
        path = save_trace(trace, tmp_path / "run.mmtrace")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_failed_write_keeps_old_file(tmp_path, monkeypatch):
    trace = trace_prompt(_model(), None, [1, 2, 3], sites="logits")
    target = tmp_path / "run.mmtrace"
    save_trace(trace, target)
    before = target.read_bytes()

    def fail_halfway(tensors, filename, metadata=None):
        Path(filename).write_bytes(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tracefile, "save_file", fail_halfway)
    with pytest.raises(TraceError) as caught:
        save_trace(trace, target)
    _assert_one_line(caught, "No space left", str(target))
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["run.mmtrace"]


def test_unwritable_folder_is_one_line(tmp_path, monkeypatch):
    # safetensors raises SafetensorError, not OSError, for a folder it may not write to.
    trace = trace_prompt(_model(), None, [1, 2, 3], sites="logits")

    def deny(tensors, filename, metadata=None):
        raise SafetensorError("Error while serializing: I/O error: Permission denied (os error 13)")

    monkeypatch.setattr(tracefile, "save_file", deny)
    with pytest.raises(TraceError) as caught:
        save_trace(trace, tmp_path / "run.mmtrace")
    _assert_one_line(caught, "Permission denied", "run.mmtrace")
    assert list(tmp_path.iterdir()) == []


def test_truncated_file(tmp_path):
    trace = trace_prompt(_model(), None, [1, 2, 3])
    path = save_trace(trace, tmp_path / "run.mmtrace")
    data = path.read_bytes()
    for keep in (len(data) - 1000, 100, 7, 0):
        path.write_bytes(data[:keep])
        with pytest.raises(TraceError) as caught:
            open_trace(path)
        _assert_one_line(caught, str(path))


def test_corrupt_header(tmp_path):
    trace = trace_prompt(_model(), None, [1, 2, 3])
    path = save_trace(trace, tmp_path / "run.mmtrace")
    data = bytearray(path.read_bytes())
    data[8:20] = b"#" * 12
    path.write_bytes(bytes(data))
    with pytest.raises(TraceError) as caught:
        open_trace(path)
    _assert_one_line(caught, "cannot read", str(path))


def test_foreign_files(tmp_path):
    with pytest.raises(TraceError) as caught:
        open_trace(PARITY / "m3_dense" / "reference.safetensors")
    _assert_one_line(caught, "not a trace")
    with pytest.raises(TraceError) as caught:
        open_trace(PARITY / "m3_dense" / "model.pth")
    _assert_one_line(caught, "cannot read")
    text = tmp_path / "notes.mmtrace"
    text.write_text("hello, this is not a trace\n" * 10)
    with pytest.raises(TraceError) as caught:
        open_trace(text)
    _assert_one_line(caught, "cannot read")
    with pytest.raises(TraceError) as caught:
        open_trace(tmp_path / "absent.mmtrace")
    _assert_one_line(caught, "not found")


def test_newer_schema_and_bad_metadata(tmp_path):
    newer = tmp_path / "newer.mmtrace"
    save_file({"x": torch.zeros(2)}, str(newer), metadata={"format": "minimind-trace", "schema_version": str(SCHEMA_VERSION + 1), "trace": "{}"})
    with pytest.raises(TraceError) as caught:
        open_trace(newer)
    _assert_one_line(caught, "schema version", "upgrade")

    broken = tmp_path / "broken.mmtrace"
    save_file({"x": torch.zeros(2)}, str(broken), metadata={"format": "minimind-trace", "schema_version": "1", "trace": '{"mode": "full"'})
    with pytest.raises(TraceError) as caught:
        open_trace(broken)
    _assert_one_line(caught, "corrupt")


def test_listed_tensor_missing(tmp_path):
    trace = trace_prompt(_model(), None, [1, 2, 3], sites="logits,embed")
    metadata = {"format": "minimind-trace", "schema_version": "1", "trace": json.dumps(tracefile.trace_to_json(trace))}
    path = tmp_path / "partial.mmtrace"
    save_file({"p0/embed": trace["embed"].contiguous()}, str(path), metadata=metadata)
    with pytest.raises(TraceError) as caught:
        open_trace(path)
    _assert_one_line(caught, "p0/logits")


def test_closed_trace(tmp_path):
    path = save_trace(trace_prompt(_model(), None, [1, 2, 3], sites="logits"), tmp_path / "run.mmtrace")
    trace = open_trace(path)
    trace.close()
    assert trace.stats("logits").numel == 3 * 256
    with pytest.raises(TraceError, match="closed"):
        trace["logits"]


def _metadata(path: Path) -> dict:
    with open(path, "rb") as handle:
        length = int.from_bytes(handle.read(8), "little")
        return json.loads(handle.read(length))["__metadata__"]
