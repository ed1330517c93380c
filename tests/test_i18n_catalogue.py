"""The English and Chinese catalogues define the same strings with the same placeholders."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from tracer.i18n import en, resolve_lang, t, zh

ROOT = Path(__file__).resolve().parent.parent
# t("key") and t("key", ...) with a literal key; keys built at run time are not checked here.
LITERAL_KEY = re.compile(r"""\bt\(\s*["']([a-z][a-z0-9_.]*)["']""")


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_same_keys_in_both_languages():
    only_en = sorted(set(en.STRINGS) - set(zh.STRINGS))
    # English text of error.* keys is the exception message itself, so those exist only in zh.py.
    only_zh = sorted(k for k in set(zh.STRINGS) - set(en.STRINGS) if not k.startswith("error."))
    assert only_en == []
    assert only_zh == []


def test_same_placeholders_in_both_languages():
    mismatched = [
        key
        for key in set(en.STRINGS) & set(zh.STRINGS)
        if _placeholders(en.STRINGS[key]) != _placeholders(zh.STRINGS[key])
    ]
    assert sorted(mismatched) == []


def test_chinese_strings_contain_chinese_or_are_terms():
    # A zh entry identical to its en entry is fine only for field terms and symbols.
    identical = [k for k in set(en.STRINGS) & set(zh.STRINGS) if en.STRINGS[k] == zh.STRINGS[k]]
    untranslated = [k for k in identical if re.search(r"[a-z]{4,} [a-z]{4,} [a-z]{4,}", en.STRINGS[k])]
    assert untranslated == []


def test_every_literal_key_in_code_exists():
    missing = []
    for folder in ("minimind", "tracer", "scenes"):
        for path in (ROOT / folder).rglob("*.py"):
            for key in LITERAL_KEY.findall(path.read_text(encoding="utf-8")):
                if key not in en.STRINGS and key not in zh.STRINGS:
                    missing.append(f"{path.relative_to(ROOT)}: {key}")
    assert missing == []


@pytest.mark.parametrize(
    ("requested", "env", "expected"),
    [
        ("zh", {}, "zh"),
        ("en", {"MMTRACE_LANG": "zh"}, "en"),
        (None, {"MMTRACE_LANG": "zh_CN"}, "zh"),
        (None, {"LANG": "zh_CN.UTF-8"}, "zh"),
        (None, {"LANG": "de_DE.UTF-8"}, "en"),
    ],
)
def test_language_resolution_order(monkeypatch, requested, env, expected):
    for variable in ("MMTRACE_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(variable, raising=False)
    for variable, value in env.items():
        monkeypatch.setenv(variable, value)
    assert resolve_lang(requested) == expected


def test_missing_key_raises():
    with pytest.raises(KeyError):
        t("no.such.key", lang="en")


def test_no_radical_over_brackets():
    # Text draws √ as a fixed glyph whose overline cannot stretch over "(...)", so a radical
    # over a bracketed group reads as a broken "√‾(": those formulas are written sqrt(...).
    for catalogue in (en.STRINGS, zh.STRINGS):
        broken = sorted(key for key, value in catalogue.items() if "√(" in value)
        assert broken == []
