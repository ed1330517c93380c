"""Real renders, kept small: every scene's closing still in both languages, one short mp4, CJK glyphs."""

from __future__ import annotations

import json

import av
import numpy as np
import pytest
import torch
from PIL import Image

from minimind import MiniMindConfig, MiniMindForCausalLM, load_tokenizer
from scenes.inputs import DEFAULT_PROMPTS
from scenes.kit.colormap import hex_to_rgb
from scenes.kit.style import BACKGROUND
from scenes.registry import list_scenes
from scenes.render import RenderOptions, render_scene, sidecar_path
from tracer import save_trace, trace_prompt

SCENE_IDS = ["rmsnorm", "rope-rotation", "attention", "gqa", "swiglu", "forward"]


def small_model(vocab_size: int) -> MiniMindForCausalLM:
    """A seeded random MiniMind: 2 blocks, 4 query / 2 kv heads, hidden_size 64."""
    torch.manual_seed(0)
    config = MiniMindConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                            vocab_size=vocab_size, max_position_embeddings=256)
    model = MiniMindForCausalLM(config).eval()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.mul_(8.0)
    return model


@pytest.fixture(scope="module")
def trace_files(tmp_path_factory):
    """One saved trace per language, of that language's default prompt."""
    tokenizer = load_tokenizer(None)
    model = small_model(tokenizer.vocab_size)
    folder = tmp_path_factory.mktemp("traces")
    paths = {}
    for lang, prompt in DEFAULT_PROMPTS.items():
        paths[lang] = save_trace(trace_prompt(model, tokenizer, prompt), folder / f"{lang}.mmtrace")
    return paths


def content_mask(path) -> np.ndarray:
    """Return a (H, W) bool array: True where a pixel differs visibly from the background."""
    pixels = np.asarray(Image.open(path).convert("RGB"), dtype=np.float64) / 255.0
    return np.abs(pixels - hex_to_rgb(BACKGROUND)).max(axis=-1) > 0.08


def test_core_scenes_are_registered():
    assert set(SCENE_IDS) <= {entry.id for entry in list_scenes()}


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("scene_id", SCENE_IDS)
def test_closing_still(scene_id, lang, trace_files, tmp_path):
    options = RenderOptions(quality="draft", format="png", lang=lang, output=str(tmp_path), progress=False)
    path = render_scene(scene_id, str(trace_files[lang]), options)

    assert path.name == f"{scene_id}-{lang}-draft.png"
    with Image.open(path) as image:
        assert image.size == (854, 480)
    mask = content_mask(path)
    # Not blank: the title, the figure and the footer cover a good part of the frame.
    assert mask.mean() > 0.02
    # Nothing touches the frame edge: text and figures stay inside a 3-pixel margin.
    border = np.concatenate([mask[:3].ravel(), mask[-3:].ravel(), mask[:, :3].ravel(), mask[:, -3:].ravel()])
    assert not border.any()
    record = json.loads(sidecar_path(path).read_text(encoding="utf-8"))
    assert record["scene"] == scene_id
    assert record["options"]["lang"] == lang
    assert record["resolution"] == [854, 480]


def test_short_mp4_frame_size_rate_duration(trace_files, tmp_path):
    options = RenderOptions(quality="draft", fps=5, format="mp4", output=str(tmp_path / "forward.mp4"), sections=True, progress=False)
    path = render_scene("forward", str(trace_files["en"]), options)

    record = json.loads(sidecar_path(path).read_text(encoding="utf-8"))
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (854, 480)
        assert stream.average_rate == 5
        frames = sum(1 for _ in container.decode(stream))
    assert record["fps"] == 5
    assert record["duration_s"] > 10
    # manim rounds each animation up to whole frames, so allow a frame per beat.
    assert abs(frames / 5 - record["duration_s"]) <= len(record["beats"]) / 5
    assert record["beats"] == ["claim", "embed", "blocks", "final_norm", "logits", "still"]
    assert record["captions"][0]["text"].startswith("A token's vector")
    # One clip per beat beside the output, listed in manim's section index.
    sections = tmp_path / "forward.sections"
    assert record["sections"] == "forward.sections"
    index = json.loads((sections / "forward.json").read_text(encoding="utf-8"))
    assert [entry["name"] for entry in index] == record["beats"]
    assert all((sections / entry["video"]).is_file() for entry in index)


def test_chinese_caption_has_cjk_glyphs():
    from scenes.kit.text import caption, text
    from tracer.i18n import t

    line = t("scene.attention.mask", lang="zh", query="5 “风”", visible=6, hidden=8)
    block = caption(line)
    missing = text("\ue000")  # a private-use code point: the font draws its .notdef box
    notdef = missing[0].points - missing[0].get_center()

    glyphs = [glyph for glyph in block.submobjects if len(glyph.points)]
    cjk = [c for c in line if "\u4e00" <= c <= "\u9fff"]
    assert len(cjk) >= 10
    assert len(glyphs) >= len(line.replace(" ", "")) - 2
    for glyph in glyphs:
        outline = glyph.points - glyph.get_center()
        assert outline.shape != notdef.shape or not np.allclose(outline, notdef, atol=1e-3)


def test_shorten_to_width_keeps_what_fits():
    from scenes.kit.style import SIZE_SMALL
    from scenes.kit.text import shorten_to_width, text

    latin = "Lily had a red kite. One day, Lily took the kite to the park."
    assert shorten_to_width(latin, 13.0, SIZE_SMALL) == latin
    width = text(latin, SIZE_SMALL).width
    long_latin = " ".join([latin] * 3)
    short = shorten_to_width(long_latin, width, SIZE_SMALL)
    prefix = short[:-1]
    assert short.endswith("…")
    assert long_latin.startswith(prefix)
    assert text(short, SIZE_SMALL).width <= width
    # The cut falls between words, and the next word would not fit.
    assert long_latin[len(prefix)] == " "
    next_word = long_latin[: long_latin.index(" ", len(prefix) + 1)]
    assert text(next_word + "…", SIZE_SMALL).width > width

    # A CJK character is about twice as wide as a Latin one, so about half as many fit.
    chinese = shorten_to_width("小红有一只风筝。" * 20, width, SIZE_SMALL)
    assert chinese.endswith("…")
    assert text(chinese, SIZE_SMALL).width <= width
    assert 0.35 < len(chinese) / len(short) < 0.65
