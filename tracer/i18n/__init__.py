"""Language catalogues for every user-visible string: CLI help, messages, scene captions.

The language is `--lang en|zh`, else the MMTRACE_LANG environment variable, else the
locale (a locale starting with zh gives Chinese), else English.
"""

from __future__ import annotations

import locale
import os

from . import en, zh

LANGUAGES = ("en", "zh")
_CATALOGUES = {"en": en.STRINGS, "zh": zh.STRINGS}
_current = None


def resolve_lang(requested: str | None = None) -> str:
    """Pick the language from an explicit request, MMTRACE_LANG, then the locale."""
    for candidate in (requested, os.environ.get("MMTRACE_LANG")):
        if candidate:
            code = candidate.strip().lower()
            if code.startswith("zh"):
                return "zh"
            if code.startswith("en"):
                return "en"
    for variable in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(variable)
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    try:
        system = locale.getlocale()[0] or ""
    except ValueError:
        system = ""
    return "zh" if system.lower().startswith("zh") else "en"


def set_lang(lang: str | None) -> str:
    """Set the language used by `t` for this process and return it."""
    global _current
    _current = resolve_lang(lang)
    return _current


def get_lang() -> str:
    """Return the language in use, resolving it on first call."""
    return _current or set_lang(None)


def t(key: str, lang: str | None = None, **params) -> str:
    """Return the string for `key` in `lang` (default: the current language), formatted with params.

    A key missing from the Chinese catalogue falls back to English; a key missing from both
    raises KeyError, so a typo fails loudly in tests. Keys under `error.` may exist only in
    zh.py, because their English text is the exception message itself.
    """
    code = lang or get_lang()
    text = _CATALOGUES.get(code, en.STRINGS).get(key)
    if text is None:
        text = en.STRINGS.get(key) or zh.STRINGS[key]
    return text.format(**params) if params else text


def tn(key: str, count: int, /, lang: str | None = None, **params) -> str:
    """Return `t(key)`, or `t(key + ".one")` when `count` is 1, for English plurals such as "1 pass".

    `count` is positional-only, so the string may have a `{count}` placeholder of its own.

    Both catalogues define the ".one" key, so that they keep the same keys.
    """
    return t(f"{key}.one" if count == 1 else key, lang=lang, **params)


def has(key: str, lang: str = "en") -> bool:
    """Return True when the catalogue of `lang` defines `key`."""
    return key in _CATALOGUES.get(lang, en.STRINGS)
