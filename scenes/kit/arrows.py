"""2-D arrows for one rotating dimension pair (x_i, x_{i+D/2}) under RoPE."""

from __future__ import annotations

import numpy as np
from manim import Arc, Arrow, Circle, DashedLine, Dot, Line, VGroup, always_redraw

from .style import GRID, MUTED, SIZE_SMALL
from .text import text


class PairPlane(VGroup):
    """A small plane with a unit circle scaled to `radius`, where pair vectors are drawn as arrows.

    `unit` maps vector length to frame units; pass the same unit to planes that must compare.
    """

    def __init__(self, radius: float = 1.2, unit: float = 1.0, heading: str | None = None):
        super().__init__()
        self.radius = radius
        self.unit = unit
        self.circle = Circle(radius=radius, stroke_color=GRID, stroke_width=1.5)
        self.x_axis = Line([-radius * 1.15, 0, 0], [radius * 1.15, 0, 0], stroke_color=GRID, stroke_width=1)
        self.y_axis = Line([0, -radius * 1.15, 0], [0, radius * 1.15, 0], stroke_color=GRID, stroke_width=1)
        self.add(self.circle, self.x_axis, self.y_axis)
        self.heading = None
        if heading is not None:
            self.heading = text(heading, SIZE_SMALL, MUTED).next_to(self.circle, np_up(), buff=0.2)
            self.add(self.heading)

    @property
    def origin(self) -> np.ndarray:
        return self.circle.get_center()

    def point(self, vector: np.ndarray) -> np.ndarray:
        """Return the frame point of 2-D `vector`."""
        x, y = (np.asarray(vector, dtype=np.float64) * self.unit)[:2]
        return self.origin + np.array([x, y, 0.0])

    def arrow(self, vector: np.ndarray, color: str, stroke: float = 5) -> Arrow:
        """Return an arrow from the origin to `vector`."""
        return Arrow(self.origin, self.point(vector), buff=0, color=color, stroke_width=stroke, max_tip_length_to_length_ratio=0.18)

    def rotating_arrow(self, vector: np.ndarray, angle_of, color: str) -> VGroup:
        """Return an arrow redrawn every frame at `vector` rotated by `angle_of()` radians."""
        base = np.asarray(vector, dtype=np.float64)[:2]

        def build():
            return self.arrow(rotate2d(base, angle_of()), color)

        return always_redraw(build)

    def angle_arc(self, start: float, stop: float, color: str, radius_fraction: float = 0.35) -> Arc:
        """Return an arc from angle `start` to `stop` (radians) around the origin."""
        return Arc(radius=self.radius * radius_fraction, start_angle=start, angle=stop - start, arc_center=self.origin, color=color, stroke_width=3)

    def ghost(self, vector: np.ndarray, color: str) -> VGroup:
        """Return a dashed line and dot marking where `vector` was before rotation."""
        end = self.point(vector)
        return VGroup(DashedLine(self.origin, end, color=color, stroke_width=2, dash_length=0.06), Dot(end, radius=0.03, color=color))


def rotate2d(vector: np.ndarray, angle: float) -> np.ndarray:
    """Rotate a 2-D vector counter-clockwise by `angle` radians (the RoPE rotation of one pair)."""
    c, s = np.cos(angle), np.sin(angle)
    x, y = vector[0], vector[1]
    return np.array([c * x - s * y, s * x + c * y])


def np_up() -> np.ndarray:
    return np.array([0.0, 1.0, 0.0])
