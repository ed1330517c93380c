"""Curriculum scenes: closing stills through the render API, and the drawn values against each experiment.

The scenes run their experiments on the embedded default model, so these tests do too.
Each scene is set up once (one experiment run) for the value checks; each render runs
its experiment again, as `mmtrace render` would.
"""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
import torch
from PIL import Image

from minimind import MiniMindConfig, MiniMindForCausalLM, load_tokenizer
from minimind.errors import MiniMindError
from scenes.curriculum import SCENES
from scenes.curriculum.base import default_model_and_tokenizer, prompt_ids
from scenes.curriculum.plots import sci
from scenes.inputs import DEFAULT_PROMPTS
from scenes.kit import fmt, fmt_bytes
from scenes.kit.colormap import hex_to_rgb
from scenes.kit.style import BACKGROUND
from scenes.kit.text import wrap
from scenes.registry import get_scene, list_scenes
from scenes.render import RenderOptions, render_scene, sidecar_path
from tracer import trace_prompt
from tracer.i18n import en, t, zh

SCENE_IDS = [scene_id for scene_id, _, _ in SCENES]
CURRICULUM_ORDER = ["why-norm", "rmsnorm", "norm-compare", "rope-basics", "rope-rotation", "rope-frequencies", "rope-precision",
                    "yarn", "attention", "gqa", "kv-cache", "swiglu", "moe", "residual-stream", "forward"]


def plain(content: str) -> str:
    """Return `content` as manim's Text.text stores it: without spaces, tabs and newlines, but with no-break spaces."""
    return re.sub(r"[ \t\n]+", "", content)


def content_mask(path) -> np.ndarray:
    """Return a (H, W) bool array: True where a pixel differs visibly from the background."""
    pixels = np.asarray(Image.open(path).convert("RGB"), dtype=np.float64) / 255.0
    return np.abs(pixels - hex_to_rgb(BACKGROUND)).max(axis=-1) > 0.08


@pytest.fixture(scope="module")
def prepared():
    """Return a function scene_id -> that scene, set up in English (its experiment run once)."""
    model, tokenizer = default_model_and_tokenizer()
    cache = {}

    def get(scene_id: str):
        if scene_id not in cache:
            scene = get_scene(scene_id).load()(lang="en", model=model, tokenizer=tokenizer)
            scene.setup()
            cache[scene_id] = scene
        return cache[scene_id]

    return get


# --- registry and catalogue -------------------------------------------------------------------


def test_scenes_listed_in_curriculum_order():
    listed = [entry.id for entry in list_scenes()]
    present = [scene_id for scene_id in CURRICULUM_ORDER if scene_id in listed]
    assert set(SCENE_IDS) <= set(listed)
    assert [scene_id for scene_id in listed if scene_id in CURRICULUM_ORDER] == present


@pytest.mark.parametrize("scene_id", SCENE_IDS + ["curriculum"])
def test_catalogue_keys_in_both_languages(scene_id):
    prefix = f"scene.{scene_id}."
    english = {key for key in en.STRINGS if key.startswith(prefix)}
    chinese = {key for key in zh.STRINGS if key.startswith(prefix)}
    if scene_id != "curriculum":
        assert {prefix + "title", prefix + "summary", prefix + "claim"} <= english
    assert english == chinese


# --- closing stills through the render API ----------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("scene_id", SCENE_IDS)
def test_closing_still_renders(scene_id, lang, tmp_path):
    options = RenderOptions(quality="draft", format="png", lang=lang, output=str(tmp_path), progress=False)
    path = render_scene(scene_id, None, options)

    assert path.name == f"{scene_id}-{lang}-draft.png"
    with Image.open(path) as image:
        assert image.size == (854, 480)
    mask = content_mask(path)
    assert mask.mean() > 0.02
    border = np.concatenate([mask[:3].ravel(), mask[-3:].ravel(), mask[:, :3].ravel(), mask[:, -3:].ravel()])
    assert not border.any()
    record = json.loads(sidecar_path(path).read_text(encoding="utf-8"))
    assert record["scene"] == scene_id
    assert record["options"]["lang"] == lang


def test_trace_from_other_weights_rejected(tmp_path):
    tokenizer = load_tokenizer(None)
    torch.manual_seed(0)
    config = MiniMindConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                            vocab_size=tokenizer.vocab_size, max_position_embeddings=256)
    other = trace_prompt(MiniMindForCausalLM(config).eval(), tokenizer, DEFAULT_PROMPTS["en"])
    options = RenderOptions(quality="draft", format="png", lang="en", output=str(tmp_path), progress=False)

    with pytest.raises(MiniMindError) as raised:
        render_scene("rope-basics", other, options)
    assert raised.value.key == "scene.curriculum.error_weights"
    assert list(tmp_path.iterdir()) == []


def test_focus_out_of_range_rejected(tmp_path):
    model, _ = default_model_and_tokenizer()
    heads = model.config.num_attention_heads
    options = RenderOptions(quality="draft", format="png", lang="en", head=heads, output=str(tmp_path), progress=False)

    with pytest.raises(MiniMindError) as raised:
        render_scene("rope-basics", None, options)
    assert raised.value.key == "render.error.head_range"
    assert list(tmp_path.iterdir()) == []


# --- what each scene draws is what its experiment computed ---------------------------------------


def test_why_norm_draws_both_runs(prepared):
    scene = prepared("why-norm")
    result, data = scene.result, scene.data
    plain_run, normed_run = result.without_norm, result.with_norm
    np.testing.assert_array_equal(data.stream_plain, plain_run.stream_rms)
    np.testing.assert_array_equal(data.grad_norm, normed_run.stream_grad_norm)

    activations, gradients = scene.charts(data)
    plain_line, normed_input, _ = scene.activation_series(activations, data)
    # One dot per finite point; its height is log10 of the experiment's RMS.
    finite = int(np.isfinite(plain_run.stream_rms).sum())
    assert len(plain_line[1]) == finite
    y0, height = activations.x_axis.get_start()[1], activations.plot_height
    for index, dot in enumerate(plain_line[1]):
        expected = y0 + height * (math.log10(plain_run.stream_rms[index]) - activations.low) / (activations.high - activations.low)
        assert dot.get_center()[1] == pytest.approx(expected, abs=1e-6)
    assert len(normed_input[1]) == result.num_layers
    # With RMSNorm every block reads its input at RMS 1.
    np.testing.assert_allclose(normed_run.sublayer_input_rms, 1.0, rtol=1e-3)

    grad_plain, _ = scene.gradient_series(gradients, data)
    last = grad_plain[1][0].get_center()
    assert last[0] == pytest.approx(gradients.x_of(result.num_layers))

    _, takeaways = scene.still()
    assert sci(plain_run.stream_rms[-1] / plain_run.stream_rms[1]) in takeaways[0]
    assert scene.s(f"act_{plain_run.activation_trend}") in takeaways[0]
    assert scene.s(f"grad_{plain_run.gradient_trend}") in takeaways[1]


def test_norm_compare_draws_offset_and_timings(prepared):
    scene = prepared("norm-compare")
    result, data = scene.result, scene.data

    assert data.input_counts.sum() == result.width
    assert data.rmsnorm_counts.sum() == result.width
    assert data.example_means[2] == pytest.approx(float(np.mean(result.example_rmsnorm)))
    # The offset RMSNorm keeps on shifted input, against mean / sqrt(mean^2 + std^2).
    assert result.rmsnorm.mean == pytest.approx(result.expected_rms_offset, abs=0.02)

    # Each histogram (one example row) marks that row's mean with a line and its computed value.
    for group, mean in zip(scene.histograms(data), data.example_means):
        histogram, line, label = group[0], group.marker[0], group.marker[1]
        assert line.get_start()[0] == pytest.approx(histogram.x_of(mean))
        assert label.text == plain(scene.s("mean_marker", value=sci(mean, 2)))
        assert label.get_bottom()[1] > line.get_top()[1]

    table = scene.stats_table(data)
    assert table.cells[2][1].text == plain(fmt(result.rmsnorm.mean))
    assert table.cells[1][0].text == "LayerNorm"

    timing = scene.timing_chart(data)
    heading, chart, machine = timing
    np.testing.assert_allclose(chart.values, [result.layernorm_us, result.rmsnorm_us, result.minimind_rmsnorm_us])
    expected_heading = scene.s("speed_heading", repeats=result.repeats, rows=result.timing_shape[0], width=result.timing_shape[1])
    assert heading.text == plain(expected_heading)
    assert "this machine" in expected_heading
    assert plain(result.machine["processor"]) in machine.text


def test_rope_basics_draws_shuffled_scores(prepared):
    scene = prepared("rope-basics")
    result, data = scene.result, scene.data
    model, tokenizer = default_model_and_tokenizer()

    distinct = list(dict.fromkeys(prompt_ids(tokenizer, DEFAULT_PROMPTS["en"])))[: scene.max_prompt_tokens]
    assert result.token_ids == distinct
    original, shuffled = scene.matrices(data)
    np.testing.assert_array_equal(original.values, result.scores_no_rope)
    np.testing.assert_array_equal(shuffled.values, result.scores_no_rope_permuted)
    assert result.equivariance_error < 1e-5
    (query, key), (new_query, new_key) = data.follow, data.follow_permuted
    assert data.scores_permuted[new_query, new_key] == pytest.approx(data.scores[query, key], abs=1e-5)

    table = scene.relative_table(data)
    for row, start in enumerate(result.starts):
        for column, _ in enumerate(result.offsets):
            assert table.cells[row + 1][column + 1].text == plain(fmt(result.relative_table[row, column]))


def test_rope_basics_footer_shows_whole_prompt(prepared):
    scene = prepared("rope-basics")

    # The experiment runs the first distinct tokens only, so the footer names the whole prompt and notes the count.
    line = scene.input_line()
    assert scene.k("prompt", prompt=DEFAULT_PROMPTS["en"]) in line
    assert "…" not in line
    assert scene.s("tokens_used", count=len(scene.data.labels)) in line
    # A prompt wider than a footer line is shortened to fit one.
    long_part = scene.prompt_part(DEFAULT_PROMPTS["en"] * 4)
    assert long_part.endswith("…")
    assert len(DEFAULT_PROMPTS["en"]) < len(long_part) < len(DEFAULT_PROMPTS["en"] * 4)



@pytest.mark.parametrize("scene_id", ["kv-cache", "moe"])
def test_cut_prompt_footer_shows_whole_prompt(prepared, scene_id):
    scene = prepared(scene_id)
    used = len(scene.prompt_labels())
    assert used < len(prompt_ids(scene.tokenizer, DEFAULT_PROMPTS["en"]))

    line = scene.input_line()
    assert scene.k("prompt", prompt=DEFAULT_PROMPTS["en"]) in line
    assert "…" not in line
    assert scene.c("tokens_used", count=used) in line


def test_whole_prompt_footer_has_no_count(prepared):
    scene = prepared("residual-stream")
    assert len(scene.prompt_labels()) == len(prompt_ids(scene.tokenizer, DEFAULT_PROMPTS["en"]))

    line = scene.input_line()
    assert scene.k("prompt", prompt=DEFAULT_PROMPTS["en"]) in line
    assert scene.c("tokens_used", count=len(scene.prompt_labels())) not in line

def test_rope_frequencies_draws_periods(prepared):
    scene = prepared("rope-frequencies")
    result, data = scene.result, scene.data
    config = scene.model.config

    group = scene.period_chart(data)
    np.testing.assert_allclose(group.chart.values, np.log10(result.table.period))
    heatmap = scene.angle_map(data, group.chart)
    np.testing.assert_allclose(heatmap.values, np.cos(result.angle).T)
    D, theta = config.head_dim, config.rope_theta
    assert data.fastest == pytest.approx(2 * math.pi, rel=1e-6)
    assert data.slowest == pytest.approx(2 * math.pi * theta ** ((D - 2) / D), rel=1e-5)
    assert data.reference_slowest == pytest.approx(2 * math.pi * theta ** (62 / 64), rel=1e-5)


def test_rope_precision_draws_stored_angles(prepared):
    scene = prepared("rope-precision")
    result, data = scene.result, scene.data

    table = scene.angle_table(data)
    for column, row in enumerate(result.rows, start=2):
        for index, angle in enumerate(row.angle):
            value, bits = table.cells[index][column]
            assert value.text == f"{angle:.9f}"
            assert bits.text == row.angle_hex[index]
    repeats = sum(int(row.same_as_previous.sum()) for row in result.rows)
    assert len(scene.repeated_boxes(data, table)) == repeats
    assert data.column("float32").repeated == [False] * len(result.positions)


def test_yarn_draws_ramp_and_reach(prepared):
    scene = prepared("yarn")
    result, data = scene.result, scene.data

    figure = scene.figure(data)
    scale, plot, lines = figure
    np.testing.assert_allclose(scale.chart.values, result.scale)
    assert (result.ramp[: result.low + 1] == 0).all()
    assert (result.ramp[result.high :] == 1).all()

    # The reach lines: the slow pairs' largest angle over their largest trained angle, from the experiment.
    slow = np.flatnonzero(~result.wrapped_in_training)
    assert slow.size > 0
    np.testing.assert_allclose(data.slow_reach(yarn=False), result.reach_plain[:, slow].max(axis=1))
    np.testing.assert_allclose(data.slow_reach(yarn=True), result.reach_yarn[:, slow].max(axis=1))
    steps = scene.position_steps(data)
    for line, yarn in zip(lines, (False, True)):
        values = data.slow_reach(yarn=yarn)
        assert line.points_drawn == len(data.positions)
        corners = line[0].get_anchors()
        np.testing.assert_allclose(corners[0], plot.point(steps[0], values[0]), atol=1e-6)
        np.testing.assert_allclose(corners[-1], plot.point(steps[-1], values[-1]), atol=1e-6)
        assert line[-1].text == plain(scene.s("reach_value", reach=fmt(values[-1], 5)))
    # Plain RoPE leaves the trained angles behind, YaRN stays near them.
    assert data.max_reach(yarn=False) > 1.5
    assert data.max_reach(yarn=True) < 1.01
    # Every shown position gets a tick unless it lies within half a doubling of the previous tick.
    tick_x = sorted(label.get_center()[0] for label in plot.x_labels)
    assert len(tick_x) >= 2
    assert min(np.diff(tick_x)) > max(label.width for label in plot.x_labels)
    legend_texts = [row[1].text for row in plot.legend]
    assert legend_texts == [plain(scene.s(key)) for key in ("legend_plain", "legend_yarn", "legend_trained")]
    table = scene.loss_table(data)
    assert table.cells[1][1].text == plain(fmt(result.plain.loss_within))
    assert table.cells[2][2].text == plain(fmt(result.yarn.loss_beyond))


def test_kv_cache_rows_match_full_pass(prepared):
    scene = prepared("kv-cache")
    result, data = scene.result, scene.data

    matrix = scene.full_matrix(data)
    prompt_length = len(result.prompt_ids)
    np.testing.assert_array_equal(matrix.values[:prompt_length, :prompt_length], result.prefill_probs)
    for step in result.steps:
        np.testing.assert_array_equal(matrix.values[step.position, : step.cache_length], step.query_probs)
    np.testing.assert_allclose(matrix.values, np.tril(result.full_probs), atol=1e-5)
    assert data.cache_lengths == list(range(prompt_length, prompt_length + len(result.steps) + 1))

    bottom_right, top_left = scene.mask_pair(data)
    np.testing.assert_array_equal(bottom_right.mask, ~result.chunk_mask)
    np.testing.assert_array_equal(top_left.mask, ~result.top_left_mask)


def test_kv_cache_counts_two_byte_values(prepared):
    scene = prepared("kv-cache")
    config, data = scene.model.config, scene.data

    # k and v at 2 bytes per value, the same count as the gqa scene's.
    assert data.bytes_per_value == 2
    assert data.bytes_per_token == 2 * 2 * config.num_hidden_layers * config.num_key_value_heads * config.head_dim
    panel = scene.cache_panel(data)
    assert panel.size.get_value() == data.cache_lengths[0] * data.bytes_per_token
    assert panel[2].text == plain(scene.s("per_token", bytes=fmt_bytes(data.bytes_per_token), layers=data.layers))
    assert panel[3].text == plain(scene.s("per_value", value_bytes=2))
    _, takeaways = scene.still()
    assert takeaways[0] == scene.s("take_cache", bytes=fmt_bytes(data.bytes_per_token), layers=data.layers, value_bytes=2)



@pytest.mark.parametrize("lang", ["en", "zh"])
def test_kv_cache_takeaway_keeps_unit_on_line(lang):
    size = fmt_bytes(2048)
    assert size == "2.0\u00a0KiB"
    takeaway = t("scene.kv-cache.take_cache", lang=lang, bytes=size, layers=4, value_bytes=2)

    # Every line width that wraps the takeaway keeps "2.0 KiB" whole on one line.
    for units in range(8, 60):
        lines = wrap(takeaway, units)
        assert any(size in line for line in lines), (units, lines)

def test_moe_draws_router_and_load(prepared):
    scene = prepared("moe")
    result, data = scene.result, scene.data
    routing = next(layer for layer in result.layers if layer.layer == data.layer)

    router = scene.router_map(data, 0.3).shift([1.0, -0.5, 0])
    np.testing.assert_array_equal(router.values, routing.router_probs)
    boxes = scene.choice_boxes(router, data)
    assert len(boxes) == len(result.token_labels) * result.top_k
    first = boxes[0].get_center()
    assert np.allclose(first, router.cell_center(0, int(routing.expert_ids[0, 0])))

    _, counts, _ = scene.load_map(data, 0.5)
    assert [int(count.text) for count in counts] == [int(value) for value in result.total_load.ravel()]
    assert (result.total_load.sum(axis=1) == len(result.token_labels) * result.top_k).all()


def test_residual_stream_draws_last_token(prepared):
    scene = prepared("residual-stream")
    result, data = scene.result, scene.data

    stream = scene.stream_chart(data)
    np.testing.assert_allclose(stream.chart.values, np.concatenate([[result.embed_norm[-1]], result.resid_post_norm[:, -1]]))
    shares = scene.share_chart(data)
    np.testing.assert_allclose(shares.chart.values, result.final_share[:, -1])
    assert shares.chart.values.sum() == pytest.approx(1.0, abs=1e-6)

    _, takeaways = scene.still()
    assert fmt(result.top_next[0].prob) in takeaways[3]
