"""MiniMind's byte-level BPE tokenizer: loading, training and per-token labels.

Upstream MiniMind keeps its tokenizer as a `tokenizers` JSON file (`model/tokenizer.json`):
byte-level BPE, no normaliser, with `<|endoftext|>` (pad, unk) at id 0, `<|im_start|>`
(bos) at id 1 and `<|im_end|>` (eos) at id 2. This module reads that format without
`transformers`, and trains new tokenizers in the same format.
"""

from __future__ import annotations

import codecs
import json
import logging
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

from minimind.errors import MiniMindError

logger = logging.getLogger(__name__)

DEFAULT_TOKENIZER_DIR = Path(__file__).resolve().parent / "assets" / "default"
TOKENIZER_FILE = "tokenizer.json"
TOKENIZER_CONFIG_FILE = "tokenizer_config.json"

PAD_TOKEN = "<|endoftext|>"
BOS_TOKEN = "<|im_start|>"
EOS_TOKEN = "<|im_end|>"
SPECIAL_TOKENS = (PAD_TOKEN, BOS_TOKEN, EOS_TOKEN)  # in id order: 0, 1, 2

_BYTE_MARKER_ERRORS = "minimind-byte-marker"


class TokenizerLoadError(MiniMindError):
    """A tokenizer file is missing, unreadable, or lacks MiniMind's special tokens."""


class MiniMindTokenizer:
    """A loaded tokenizer.json with MiniMind's special tokens looked up.

    `encode` adds no special tokens: prepend `bos_token_id` yourself, as the default model
    saw every training story as `<|im_start|>` + story + `<|im_end|>`. Special-token text
    inside the input (for example "<|im_end|>") still encodes to its single id.
    """

    def __init__(self, backend: Tokenizer, path: Path, special_tokens: dict[str, str] | None = None):
        self.backend = backend
        self.path = path  # the tokenizer.json this was read from
        names = {"bos": BOS_TOKEN, "eos": EOS_TOKEN, "pad": PAD_TOKEN, **(special_tokens or {})}
        self.bos_token_id = self._require_token(names["bos"])
        self.eos_token_id = self._require_token(names["eos"])
        self.pad_token_id = self._require_token(names["pad"])
        self._special_ids = {token_id for token_id, token in backend.get_added_tokens_decoder().items() if token.special}
        self._byte_level = _is_byte_level(backend)
        self._byte_decoder = {char: byte for byte, char in _bytes_to_unicode().items()}

    @property
    def vocab_size(self) -> int:
        """Number of ids, added special tokens included."""
        return self.backend.get_vocab_size(with_added_tokens=True)

    def encode(self, text: str) -> list[int]:
        """Return the token ids of `text`, without adding bos or eos."""
        return self.backend.encode(text, add_special_tokens=False).ids

    def decode(self, ids: Iterable[int], skip_special_tokens: bool = False) -> str:
        """Return the text of `ids`; bytes that do not form UTF-8 become U+FFFD."""
        return self.backend.decode(list(ids), skip_special_tokens=skip_special_tokens)

    def token_labels(self, ids: Sequence[int]) -> list[str]:
        """Return a readable label for each id, for tables and plots.

        A label is the token's own text, leading space included (" Lily"). A byte-level
        piece that is not a whole UTF-8 character (part of a Chinese character, say) shows
        as byte markers such as `<0xE5><0xB0>`, so no label is mojibake. Control characters
        become escapes such as `\\n`, and a label of spaces only becomes "␣" per space.
        Special tokens keep their names, as in `<|im_start|>`.
        """
        return [self._label(int(token_id)) for token_id in ids]

    def id_to_token(self, token_id: int) -> str | None:
        """Return the raw vocabulary entry of `token_id` (byte-level alphabet), or None."""
        return self.backend.id_to_token(token_id)

    def __len__(self) -> int:
        return self.vocab_size

    def __repr__(self) -> str:
        return f"MiniMindTokenizer(path={str(self.path)!r}, vocab_size={self.vocab_size})"

    def _label(self, token_id: int) -> str:
        piece = self.backend.id_to_token(token_id)
        if piece is None:
            return f"<unknown id {token_id}>"
        if token_id in self._special_ids or not self._byte_level:
            text = piece if token_id in self._special_ids else self.backend.decode([token_id])
            return _escape_controls(text)
        if not all(char in self._byte_decoder for char in piece):
            # An added token that is not special; its content is plain text.
            return _escape_controls(piece)
        raw = bytes(self._byte_decoder[char] for char in piece)
        return _escape_controls(raw.decode("utf-8", errors=_BYTE_MARKER_ERRORS))

    def _require_token(self, token: str) -> int:
        token_id = self.backend.token_to_id(token)
        if token_id is None:
            raise TokenizerLoadError(
                f"tokenizer {self.path} has no {token} token: pass a MiniMind tokenizer.json "
                f"(special tokens {', '.join(SPECIAL_TOKENS)})"
            )
        return token_id


def load_tokenizer(path: str | Path | None = None) -> MiniMindTokenizer:
    """Load a tokenizer.json file, a folder containing one, or (None) the embedded default.

    A folder may be an upstream MiniMind `model/` folder; its tokenizer_config.json, if
    present, names the bos, eos and pad tokens. Raises TokenizerLoadError with a one-line
    message when the file is missing, is not a tokenizers JSON file, or lacks those tokens.
    """
    if path is None:
        path = DEFAULT_TOKENIZER_DIR
    path = Path(path)
    file = path / TOKENIZER_FILE if path.is_dir() else path
    if not file.is_file():
        where = f"no {TOKENIZER_FILE} in folder {path}" if path.is_dir() else f"tokenizer not found: {path}"
        raise TokenizerLoadError(
            f"{where}: pass a tokenizer.json file or a folder that contains one, such as MiniMind's model/ folder"
        )

    try:
        backend = Tokenizer.from_file(str(file))
    except Exception as error:  # the Rust binding raises plain Exception for every parse failure
        reason = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
        raise TokenizerLoadError(
            f"cannot read {file} as a tokenizers JSON file ({reason}): pass a tokenizer.json saved by the tokenizers library"
        ) from None
    return MiniMindTokenizer(backend, file, _special_tokens_from_config(file.parent / TOKENIZER_CONFIG_FILE))


def train_tokenizer(texts: Sequence[str], vocab_size: int) -> Tokenizer:
    """Train a byte-level BPE on `texts` in upstream MiniMind's tokenizer.json layout.

    Every one of the 256 bytes is in the vocabulary, so any text encodes without unknown
    tokens, and ids 0-2 are MiniMind's special tokens. While training, each non-ASCII
    character is its own pre-token, so merges never join two Chinese characters. Chinese
    text therefore encodes one token per character (or bytes, for unseen characters), which
    keeps names such as 小红 visible as tokens instead of fused into phrases like 看见了小红.
    The saved file uses the plain ByteLevel pre-tokenizer, which encodes the same way because
    no learned merge crosses a character boundary. The vocabulary stops short of
    `vocab_size` when no pair is left to merge.
    """
    if vocab_size < 256 + len(SPECIAL_TOKENS):
        raise ValueError(f"vocab_size {vocab_size} is too small: a byte-level BPE needs at least {256 + len(SPECIAL_TOKENS)}")
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Split(Regex(r"[^\x00-\x7F]"), behavior="isolated"), byte_level]
    )
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(texts, trainer=trainer)
    sample = list(texts[:200])
    split_ids = [encoding.ids for encoding in backend.encode_batch(sample, add_special_tokens=False)]
    backend.pre_tokenizer = byte_level
    plain_ids = [encoding.ids for encoding in backend.encode_batch(sample, add_special_tokens=False)]

    if split_ids != plain_ids:
        raise RuntimeError("trained merges cross a character boundary: the saved tokenizer would encode differently")
    for expected_id, token in enumerate(SPECIAL_TOKENS):
        if backend.token_to_id(token) != expected_id:
            raise RuntimeError(f"trained tokenizer put {token} at id {backend.token_to_id(token)}, not {expected_id}")
    return backend


def tokenizer_config(max_length: int) -> dict:
    """Return a tokenizer_config.json that lets `transformers` load the tokenizer as upstream does."""
    return {
        "add_bos_token": False,
        "add_eos_token": False,
        "add_prefix_space": False,
        "added_tokens_decoder": {
            str(token_id): {
                "content": token,
                "lstrip": False,
                "normalized": False,
                "rstrip": False,
                "single_word": False,
                "special": True,
            }
            for token_id, token in enumerate(SPECIAL_TOKENS)
        },
        "bos_token": BOS_TOKEN,
        "eos_token": EOS_TOKEN,
        "pad_token": PAD_TOKEN,
        "unk_token": PAD_TOKEN,
        "clean_up_tokenization_spaces": False,
        "model_max_length": max_length,
        "tokenizer_class": "PreTrainedTokenizerFast",
    }


def _special_tokens_from_config(path: Path) -> dict[str, str]:
    """Read the bos/eos/pad token names from a tokenizer_config.json, if there is a usable one."""
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        logger.warning("ignoring unreadable %s (%s); using MiniMind's default special tokens", path, error)
        return {}
    names = {}
    for role in ("bos", "eos", "pad"):
        value = data.get(f"{role}_token") if isinstance(data, dict) else None
        if isinstance(value, dict):  # older transformers files store {"content": ...}
            value = value.get("content")
        if isinstance(value, str):
            names[role] = value
    return names


def _is_byte_level(backend: Tokenizer) -> bool:
    settings = json.loads(backend.to_str()).get("pre_tokenizer") or {}
    if settings.get("type") == "ByteLevel":
        return True
    return any(step.get("type") == "ByteLevel" for step in settings.get("pretokenizers", []))


def _bytes_to_unicode() -> dict[int, str]:
    """Return the byte -> printable character table of byte-level BPE (GPT-2's scheme).

    Printable Latin-1 bytes stand for themselves. The other 68 bytes map, in byte order, to
    U+0100 onwards, as in `tokenizers`' ByteLevel vocabulary (Ġ is a space).
    """
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table = {byte: chr(byte) for byte in printable}
    shifted = 0
    for byte in range(256):
        if byte not in table:
            table[byte] = chr(256 + shifted)
            shifted += 1
    return table


def _escape_controls(text: str) -> str:
    if text and text.strip(" ") == "":
        return "\u2423" * len(text)  # ␣, one per space
    escapes = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}
    out = []
    for char in text:
        if char in escapes:
            out.append(escapes[char])
        elif unicodedata.category(char) == "Cc" and ord(char) < 0x80:
            out.append(f"<0x{ord(char):02X}>")
        elif unicodedata.category(char) == "Cc":
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return "".join(out)


def _byte_markers(error: UnicodeDecodeError) -> tuple[str, int]:
    bad = error.object[error.start : error.end]
    return "".join(f"<0x{byte:02X}>" for byte in bad), error.end


codecs.register_error(_BYTE_MARKER_ERRORS, _byte_markers)
