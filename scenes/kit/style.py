"""The visual language shared by every scene: colours, fonts, sizes and timing.

Colours are hex strings so that data code and tests can use them without importing manim.
Component colours come from the Okabe-Ito palette (distinguishable with the common forms of
colour blindness), lightened where the original is too dark on the background.
"""

from __future__ import annotations

# Every Text uses this family: it covers Latin, Greek, arrows, maths symbols and CJK, so a
# Chinese caption never falls back to empty boxes.
FONT = "Noto Sans CJK SC"

BACKGROUND = "#101319"
PANEL = "#1b2029"  # card and slide panels
GRID = "#3a414d"  # outlines, axes, masked cells
TEXT = "#eceff4"
MUTED = "#9aa3b2"  # secondary labels, provenance lines
HIGHLIGHT = "#ffffff"  # focus outlines

# One colour per component of the transformer block.
COMPONENT = {
    "residual": "#f0e442",  # residual stream (yellow)
    "norm": "#2ec4a0",  # RMSNorm (bluish green)
    "q": "#e69f00",  # queries (orange)
    "k": "#56b4e9",  # keys (sky blue), far from q's orange when both are thin arrows
    "v": "#cc79a7",  # values (reddish purple)
    "scores": "#d55e00",  # attention scores (vermillion)
    "probs": "#ff7eb6",  # attention probabilities (pink)
    "ffn": "#9bd35a",  # feed-forward network (lime)
    "logits": "#b39ddb",  # output logits and next-token probabilities (lavender)
}

# Diverging map for signed values: blue below zero, near-background at zero, orange-red
# above, so the large entries stand out and the near-zero ones recede.
DIVERGING = ("#3b7dd8", "#1d2430", "#e8603c")
# Sequential map for values in [0, 1] such as probabilities.
SEQUENTIAL = ("#161a22", "#5b2a86", "#c23b75", "#f68f46", "#fbe6a0")
MASKED = "#5a6170"  # stripes over cells the causal mask removes

# Font sizes in manim units (font_size 24 is about 0.25 frame units tall for capitals).
# 18 is the smallest size that stays legible at 1280x720.
SIZE_TITLE = 40
SIZE_CLAIM = 38
SIZE_HEADING = 30
SIZE_CAPTION = 26
SIZE_LABEL = 22
SIZE_SMALL = 18

# Frame geometry (manim's default 16:9 frame is 14.22 x 8 units).
MARGIN = 0.4
CAPTION_Y = -3.4  # centre of the caption band
CAPTION_HEIGHT = 0.85  # two lines at SIZE_CAPTION; longer captions shrink to fit
TITLE_Y = 3.55

# Pacing in seconds.
CLAIM_HOLD = 3.0
# Caption hold time per character: Latin text at about 220 words per minute, Chinese
# characters at about 500 per minute. Chinese captions mix both, so each character counts
# at its own script's rate.
READ_PER_CHAR_LATIN = 0.045
READ_PER_CHAR_CJK = 0.12
STILL_HOLD = 3.0
