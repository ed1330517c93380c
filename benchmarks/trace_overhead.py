"""Measure what tracing costs: forward-pass overhead, and writing and reading a large trace.

Model: MiniMind2-small sizes (8 layers, hidden 512, 8 query / 2 kv heads, vocab 6400) with
random weights, on the CPU. Variants, run interleaved round after round so that load from
other processes affects them alike, each timed as a median. Each variant runs --repeat times
in a row per round; the first call (after another variant, whose caches and freed memory it
inherits) and the last call (the variant on its own) are reported separately:

  untraced          model(ids) under torch.no_grad()
  stats             the same inside `Tracer(model, mode="stats")`, every site
  full              the same inside `Tracer(model, mode="full")`, every site; statistics
                    are computed when first read, which this row does not do
  full_read_stats   full, then reading every step's statistics
  hf_forward        the same weights in transformers' LlamaForCausalLM
  tl_run_with_cache TransformerLens 4 TransformerBridge.run_with_cache on that Llama

TransformerLens is optional (`pip install -e ".[benchmark]"`); without it those rows are
skipped. Before timing, the script checks that all implementations give the same logits.
Then it writes a full trace of at least --big-trace-mb megabytes and times opening it and
reading one site. Results are printed and written to docs/benchmarks.md, in a section of
their own between marker comments (pass --no-write to skip).

Usage: .venv/bin/python benchmarks/trace_overhead.py [--tokens 256] [--rounds 15]
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing may download; TransformerLens must find everything locally

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from minimind import MINIMIND2, MiniMindConfig, MiniMindForCausalLM  # noqa: E402
from minimind.tokenizer import DEFAULT_TOKENIZER_DIR  # noqa: E402
from tracer import Tracer, open_trace, save_trace  # noqa: E402

from docs_section import DOCS, write_section  # noqa: E402

STATS_TARGET = 1.10


def small_config() -> MiniMindConfig:
    """MiniMind2-small: 8 x 512, 8 query / 2 kv heads, vocab 6400 (about 25.8M parameters)."""
    return MiniMindConfig(minimind_version=MINIMIND2, hidden_size=512, num_hidden_layers=8, num_attention_heads=8, num_key_value_heads=2, vocab_size=6400)


def build_llama(model: MiniMindForCausalLM):
    """Load the same weights into transformers' LlamaForCausalLM (MiniMind2 dense is a Llama)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    c = model.config
    config = LlamaConfig(
        vocab_size=c.vocab_size,
        hidden_size=c.hidden_size,
        intermediate_size=c.intermediate_size,
        num_hidden_layers=c.num_hidden_layers,
        num_attention_heads=c.num_attention_heads,
        num_key_value_heads=c.num_key_value_heads,
        max_position_embeddings=c.max_position_embeddings,
        rope_theta=c.rope_theta,
        rms_norm_eps=c.rms_norm_eps,
        tie_word_embeddings=True,
        hidden_act="silu",
        attention_bias=False,
        mlp_bias=False,
    )
    llama = LlamaForCausalLM(config)
    llama.load_state_dict(model.state_dict(), strict=True)
    return llama.eval()


def build_bridge(llama, folder: Path):
    """Boot a TransformerLens 4 TransformerBridge around `llama`, offline."""
    from transformer_lens.model_bridge import TransformerBridge
    from transformers import PreTrainedTokenizerFast

    llama.save_pretrained(folder)
    tokenizer = PreTrainedTokenizerFast(tokenizer_file=str(DEFAULT_TOKENIZER_DIR / "tokenizer.json"))
    return TransformerBridge.boot_transformers(str(folder), hf_model=llama, tokenizer=tokenizer)


def page_faults() -> int:
    """Page faults of this process so far (minor and major)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_minflt + usage.ru_majflt


def timed(fn) -> float:
    """Return the seconds `fn()` takes, freeing its result inside the timing.

    TransformerLens's cache holds reference cycles, so its memory returns only at the next
    cyclic garbage collection, which would otherwise land in whichever variant runs next.
    The collector therefore runs before each call and is off during it; cycles a variant
    leaves are not charged to it, which favours TransformerLens slightly.
    """
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start
    finally:
        gc.enable()


def cpu_counters() -> tuple[float, float, float]:
    """Return (wall seconds, machine busy CPU seconds, this process's CPU seconds), Linux only."""
    ticks = os.sysconf("SC_CLK_TCK")
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    busy = sum(fields) - fields[3] - fields[4]  # all but idle and iowait
    own = sum(int(v) for v in Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[11:13])  # utime, stime
    return time.perf_counter(), busy / ticks, own / ticks


def others_share(start: tuple[float, float, float]) -> float:
    """Fraction of the machine's CPU time that other processes used since `start`."""
    wall, busy, own = (b - a for a, b in zip(start, cpu_counters()))
    return max(busy - own, 0.0) / (wall * (os.cpu_count() or 1))


def run_overhead(args) -> dict:
    torch.manual_seed(0)
    model = MiniMindForCausalLM(small_config()).eval()
    ids = torch.randint(3, model.config.vocab_size, (1, args.tokens), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        reference = model(ids).logits

    variants = {
        "untraced": lambda: model(ids),
        "stats": lambda: _traced(model, ids, "stats"),
        "full": lambda: _traced(model, ids, "full"),
        "full_read_stats": lambda: _read_all_stats(_traced(model, ids, "full")),
    }
    notes = []
    match = {}
    try:
        llama = build_llama(model)
        with torch.no_grad():
            match["hf_forward"] = (llama(ids).logits - reference).abs().max().item()
        variants["hf_forward"] = lambda: llama(ids)
        with tempfile.TemporaryDirectory() as folder:
            bridge = build_bridge(llama, Path(folder))
        with torch.no_grad():
            logits, cache = bridge.run_with_cache(ids)
        match["tl_run_with_cache"] = (logits - reference).abs().max().item()
        cache_mb = sum(t.numel() * t.element_size() for t in cache.values()) / 1e6
        notes.append(f"TransformerLens cache: {len(cache)} entries, {cache_mb:.0f} MB")
        variants["tl_run_with_cache"] = lambda: bridge.run_with_cache(ids)
    except ImportError as error:
        notes.append(f"TransformerLens rows skipped: {error} (install with pip install -e \".[benchmark]\")")

    with torch.no_grad(), Tracer(model, mode="full") as tracer:
        model(ids)
    trace = tracer.trace
    match["full"] = (trace["logits"] - reference).abs().max().item()
    stored_mb = sum(t.numel() * t.element_size() for _, t in trace.tensor_items()) / 1e6
    notes.append(f"full trace: {len(trace.steps)} steps, {stored_mb:.0f} MB of tensors")
    del trace, tracer
    for name, difference in match.items():
        print(f"logits max abs difference, {name} vs untraced: {difference:.2e}")
        if difference > 1e-4:
            raise SystemExit(f"{name} logits differ from the untraced model by {difference:.2e}: fix the weight mapping first")

    times = {name: [] for name in variants}
    first_times = {name: [] for name in variants}
    faults = {name: [] for name in variants}
    counters = cpu_counters() if Path("/proc/stat").exists() else None
    with torch.no_grad():
        for round_index in range(args.warmup + args.rounds):
            # Rotate the order each round so no variant always runs right after the same one.
            names = list(variants)
            shift = round_index % len(names)
            for name in names[shift:] + names[:shift]:
                # The first call after another variant pays for the caches and free memory that
                # variant left, such as the 248 MB cache TransformerLens frees. The last call
                # measures the variant on its own. Both are reported.
                for call in range(args.repeat):
                    before = page_faults()
                    elapsed = timed(variants[name])
                    if round_index < args.warmup:
                        continue
                    if call == 0:
                        first_times[name].append(elapsed)
                    if call == args.repeat - 1:
                        times[name].append(elapsed)
                        faults[name].append(page_faults() - before)
    medians = {name: statistics.median(values) for name, values in times.items()}
    first_medians = {name: statistics.median(values) for name, values in first_times.items()}
    fault_medians = {name: statistics.median(values) for name, values in faults.items()}
    if counters is not None:
        notes.append(f"other processes used {others_share(counters):.0%} of the machine's CPU time during the timed rounds")
    return {"medians": medians, "first_medians": first_medians, "faults": fault_medians, "notes": notes, "match": match}


def _read_all_stats(trace) -> None:
    # Full mode computes statistics when first read; this row includes computing all of them.
    for step in trace:
        step.stats.numel  # noqa: B018


def _traced(model, ids, mode):
    with Tracer(model, mode=mode) as tracer:
        model(ids)
    return tracer.trace


def run_big_trace(args) -> dict:
    torch.manual_seed(0)
    model = MiniMindForCausalLM(small_config()).eval()
    batch = 1
    while True:
        ids = torch.randint(3, model.config.vocab_size, (batch, args.tokens), generator=torch.Generator().manual_seed(2))
        with torch.no_grad(), Tracer(model, mode="full") as tracer:
            model(ids)
        trace = tracer.trace
        size_mb = sum(t.numel() * t.element_size() for _, t in trace.tensor_items()) / 1e6
        if size_mb >= args.big_trace_mb:
            break
        batch = max(batch + 1, int(batch * args.big_trace_mb / size_mb) + 1)

    with tempfile.TemporaryDirectory(dir=args.scratch) as folder:
        path = Path(folder) / "big.mmtrace"
        write_s = timed(lambda: save_trace(trace, path))
        file_mb = path.stat().st_size / 1e6
        site = "layers.7.attn.probs"
        site_mb = trace.step(site).stats.numel * 4 / 1e6
        del trace, tracer

        holder = {}
        open_s = timed(lambda: holder.setdefault("trace", open_trace(path)))
        read_s = timed(lambda: holder["trace"][site].sum())
        holder["trace"].close()
    return {"batch": batch, "file_mb": file_mb, "write_s": write_s, "open_s": open_s, "read_s": read_s, "site": site, "site_mb": site_mb}


def report(args, overhead: dict, big: dict | None) -> list[str]:
    m = overhead["medians"]
    first = overhead["first_medians"]
    base, first_base = m["untraced"], first["untraced"]
    lines = [
        "## Tracing overhead (benchmarks/trace_overhead.py)",
        "",
        f"MiniMind2-small sizes (8 layers, hidden 512, 8 query / 2 kv heads, vocab 6400), random weights, "
        f"{args.tokens} tokens, batch 1, CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads. Median of {args.rounds} interleaved rounds "
        f"after {args.warmup} warm-up rounds. In each round every variant runs {args.repeat} times in a row: "
        f"'last call' times the last of them, the variant on its own, and 'first call' the first, right after "
        f"another variant. The Tracer rows include entering and leaving the `with` block and building the Trace, "
        f"and every row includes freeing its result (the garbage collector runs untimed before each call). "
        f"Measured {time.strftime('%Y-%m-%d')}.",
        "",
        "| variant | last call, median ms | ratio to untraced | first call, median ms | ratio to untraced | median page faults (last call) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, value in m.items():
        lines.append(
            f"| {name} | {value * 1e3:.1f} | {value / base:.2f}x | {first[name] * 1e3:.1f} | {first[name] / first_base:.2f}x "
            f"| {overhead['faults'][name]:.0f} |"
        )
    lines.append("")
    stats_ratio = m["stats"] / base
    lines.append(
        f"- stats mode: {stats_ratio:.2f}x untraced on the last call (target {STATS_TARGET:.2f}x): "
        f"{'met' if stats_ratio <= STATS_TARGET else 'NOT met'}; {first['stats'] / first_base:.2f}x on the first call."
    )
    lines.append(
        f"- full mode computes a stored tensor's statistics when they are first read; reading all of them "
        f"after the pass (full_read_stats) gives {m['full_read_stats'] / base:.2f}x."
    )
    if "tl_run_with_cache" in m:
        verdict = "met" if m["full"] <= m["tl_run_with_cache"] else "NOT met"
        lines.append(
            f"- full mode: {m['full'] * 1e3:.1f} ms vs TransformerLens run_with_cache {m['tl_run_with_cache'] * 1e3:.1f} ms "
            f"on the last call (target: no slower): {verdict}; first call {first['full'] * 1e3:.1f} ms vs "
            f"{first['tl_run_with_cache'] * 1e3:.1f} ms."
        )
    lines.append(
        "- Variants that keep their tensors (full, run_with_cache) may need fresh memory each call; the page "
        "faults column shows when they did, which adds tens of milliseconds and varies between runs."
    )
    for note in overhead["notes"]:
        lines.append(f"- {note}.")
    lines.append("- Logits max abs difference to the untraced model: " + ", ".join(f"{k} {v:.1e}" for k, v in overhead["match"].items()) + ".")
    if big is not None:
        lines += [
            "",
            f"Large trace: full mode, batch {big['batch']} x {args.tokens} tokens, {big['file_mb']:.0f} MB file "
            f"(warm page cache, the file having just been written):",
            "",
            "| operation | seconds |",
            "|---|---:|",
            f"| write (save_trace) | {big['write_s']:.2f} |",
            f"| open (open_trace) | {big['open_s']:.3f} |",
            f"| read one site ({big['site']}, {big['site_mb']:.1f} MB) | {big['read_s']:.3f} |",
        ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=256, help="prompt length in tokens (default: 256)")
    parser.add_argument("--rounds", type=int, default=15, help="timed rounds per variant (default: 15)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed rounds first (default: 3)")
    parser.add_argument("--repeat", type=int, default=3, help="calls of each variant in a row per round; the first and the last are timed (default: 3)")
    parser.add_argument("--big-trace-mb", type=float, default=500, help="minimum size of the large trace in MB; 0 skips it (default: 500)")
    parser.add_argument("--scratch", default=None, help="folder for the large trace file (default: the system temp folder)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's own choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    overhead = run_overhead(args)
    big = run_big_trace(args) if args.big_trace_mb > 0 else None
    lines = report(args, overhead, big)
    print("\n".join(lines))
    if not args.no_write:
        write_section("trace_overhead", "\n".join(lines))
        print(f"\nwrote {DOCS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
