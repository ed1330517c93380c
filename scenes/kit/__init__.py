"""The scene kit: the visual language and reusable pieces every scene draws with.

  style       colours per component, fonts, sizes, pacing
  colormap    diverging and sequential value-to-colour maps (numpy)
  numbers     number formatting
  text        Text in the CJK-capable font, wrapping, captions, titles, DecimalNumber
  cards       the opening claim card and the closing still (a lecture slide)
  tokens      token labels and a row of token boxes
  heatmap     matrices as nearest-neighbour images with token labels and outlines
  vector      a vector as a strip of coloured cells
  arrows      2-D arrows for a rotating RoPE dimension pair
  bars        horizontal bar charts
  base        TraceScene, the base class of the scenes
"""

from .arrows import PairPlane, rotate2d
from .bars import BarChart
from .base import TraceScene
from .cards import ClosingStill, claim_card
from .colormap import diverging_rgb, sequential_rgb
from .heatmap import Heatmap, color_bar
from .numbers import fmt, fmt_bytes, fmt_count, fmt_fixed, fmt_percent
from .style import COMPONENT, FONT
from .text import caption, fit_text, number, text, title
from .tokens import TokenRow, display_token, quoted
from .vector import VectorStrip

__all__ = [
    "BarChart",
    "COMPONENT",
    "ClosingStill",
    "FONT",
    "Heatmap",
    "PairPlane",
    "TokenRow",
    "TraceScene",
    "VectorStrip",
    "caption",
    "claim_card",
    "color_bar",
    "display_token",
    "diverging_rgb",
    "fit_text",
    "fmt",
    "fmt_bytes",
    "fmt_count",
    "fmt_fixed",
    "fmt_percent",
    "number",
    "quoted",
    "rotate2d",
    "sequential_rgb",
    "text",
    "title",
]
