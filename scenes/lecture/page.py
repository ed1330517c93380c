"""Write index.html: the lecture's clips in order, as a keyboard-driven slide player."""

from __future__ import annotations

import html
import json
import os
from pathlib import Path

from tracer.i18n import has, t

from .manifest import Manifest
from .page_template import TEMPLATE

_UI_KEYS = (
    "hint_start",
    "hint_next",
    "hint_next_clip",
    "hint_paused",
    "hint_end",
    "clip_position",
    "section_position",
    "section_count",
    "section_count_one",
    "lecture_meta",
    "lecture_meta_one",
    "empty",
    "keys_html",
)


def lecture_data(manifest: Manifest, scene_ids: list[str], lang: str) -> dict:
    """Return what the page shows: the clips of `scene_ids` that exist, in order, and the UI strings."""
    clips = []
    for scene in scene_ids:
        entry = manifest.clips.get(scene)
        if entry is None:
            continue
        sections = []
        for section in entry["sections"]:
            caption = _first_caption(entry.get("cues", []), section["start"], section["start"] + section["duration"])
            label = section_label(scene, section["name"], lang)
            sections.append({"file": section["file"], "label": label, "caption": caption, "duration": section["duration"]})
        clips.append(
            {
                "scene": scene,
                "title": entry["title"],
                "claim": entry["claim"],
                "duration": entry["duration"],
                "video": f"{entry['stem']}.mp4",
                "still": f"{entry['stem']}.png",
                "subtitles": f"{entry['stem']}.srt",
                "sections": sections,
            }
        )
    strings = {key: t(f"lecture.page.{key}", lang=lang) for key in _UI_KEYS}
    prompts = [manifest.trace.get("prompt")] + [manifest.clips[scene].get("prompt") for scene in scene_ids if scene in manifest.clips]
    prompt = next((text for text in prompts if text), "")
    return {
        "title": t("lecture.page.title", lang=lang),
        "prompt": t("lecture.page.prompt", lang=lang, prompt=prompt) if prompt else "",
        "lang": lang,
        "strings": strings,
        "clips": clips,
    }


def section_label(scene: str, name: str, lang: str) -> str:
    """Return a section's name for people: `scene.<id>.beat.<name>` from the catalogue, else the beat name."""
    key = f"scene.{scene}.beat.{name}"
    if has(key, lang) or has(key):
        return t(key, lang=lang)
    return name.replace("_", " ").replace("-", " ")


def render_page(data: dict) -> str:
    """Return the HTML of the player with `data` embedded."""
    # "</" inside the JSON would close the <script> element early.
    payload = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
    page = TEMPLATE.replace("__LANG__", "zh-CN" if data["lang"] == "zh" else "en")
    page = page.replace("__TITLE__", html.escape(data["title"]))
    return page.replace("__DATA__", payload)


def write_index(folder: Path, manifest: Manifest, scene_ids: list[str], lang: str) -> Path:
    """Write folder/index.html atomically and return its path."""
    path = folder / "index.html"
    temporary = folder / ".index.html.tmp"
    temporary.write_text(render_page(lecture_data(manifest, scene_ids, lang)), encoding="utf-8")
    os.replace(temporary, path)
    return path


def _first_caption(cues: list[dict], start: float, end: float) -> str:
    # A caption belongs to the section in which it appears; a tiny tolerance absorbs rounding.
    for cue in cues:
        if start - 1e-3 <= cue["start"] < end - 1e-3:
            return cue["text"]
    return ""
