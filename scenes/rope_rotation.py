"""rope-rotation: one real head's query and key, dimension pairs (i, i + D/2) turning by m * theta_i."""

from __future__ import annotations

import sys
from pathlib import Path

try:
    import scenes.kit  # noqa: F401
except ModuleNotFoundError:  # `manim scenes/rope_rotation.py` in a checkout that is not pip-installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from manim import DOWN, LEFT, RIGHT, UP, Arrow, Create, Dot, Group, Line, ValueTracker, VGroup, linear

from scenes.data.rope import RopeRotationData, rope_rotation_data
from scenes.kit.animations import OpacityFadeIn, OpacityFadeOut
from scenes.kit import COMPONENT, PairPlane, TokenRow, TraceScene, VectorStrip, fmt, number, quoted, rotate2d, text
from scenes.kit.style import HIGHLIGHT, MUTED, SIZE_LABEL, SIZE_SMALL, TEXT

PLANE_RADIUS = 1.1


def degrees(radians: float) -> float:
    return float(np.degrees(radians))


def plane_unit(d: RopeRotationData, row: int) -> float:
    """Frame units per unit of length in pair `row`'s plane, so its longest q or k pair touches the circle."""
    longest = max(np.linalg.norm(d.q_before[row]), np.linalg.norm(d.k_before[row]), 1e-12)
    return PLANE_RADIUS / longest


class RopeRotationScene(TraceScene):
    scene_id = "rope-rotation"
    color = COMPONENT["q"]
    beats = ("claim", "vectors", "rotate_query", "rotate_key", "relative", "still")

    @classmethod
    def extract(cls, trace, focus, labeler=None) -> RopeRotationData:
        return rope_rotation_data(trace, focus)

    def token_text(self, position: int) -> str:
        label = self.data.labels[position]
        return f"{position} {quoted(label, self.lang)}"

    def planes(self, d: RopeRotationData) -> list[PairPlane]:
        """Return one plane per shown pair at fixed columns, each scaled to its longest q or k pair vector."""
        planes = []
        columns = np.linspace(-4.5, 4.5, len(d.pairs)) if len(d.pairs) > 1 else [0.0]
        for row, pair in enumerate(d.pairs):
            plane = PairPlane(radius=PLANE_RADIUS, unit=plane_unit(d, row))
            plane.move_to([columns[row], -0.4, 0])
            heading = VGroup(
                text(self.s("pair", i=pair, j=pair + d.head_dim // 2), SIZE_SMALL + 2, TEXT),
                text(self.s("speed", theta=fmt(d.inv_freq[pair])), SIZE_SMALL, MUTED),
                text(self.s("period", period=fmt(d.periods[row])), SIZE_SMALL, MUTED),
            ).arrange(DOWN, buff=0.06)
            plane.add(heading.next_to(plane.circle, UP, buff=0.15))
            planes.append(plane)
        return planes

    def construct(self):
        d = self.data
        half = d.head_dim // 2

        # Claim
        self.beat("claim")
        self.open_with_claim()

        # The query and key vectors, split into pairs
        self.beat("vectors")
        tokens = TokenRow(d.labels, max_width=12.4).move_to([0, 2.85, 0])
        q_box = tokens.outline(d.query, color=COMPONENT["q"])
        k_box = tokens.outline(d.key, color=COMPONENT["k"])
        self.play(OpacityFadeIn(tokens), Create(q_box), Create(k_box), run_time=0.8)
        strips = self.pair_strips(d)
        self.play(OpacityFadeIn(strips), run_time=0.8)
        self.say(self.s("vectors", head=d.head, layer=d.layer, query=self.token_text(d.query), key_token=self.token_text(d.key),
                        dim=d.head_dim, half=half, prob=fmt(d.prob)))

        # Rotate the query from position 0 to m
        self.beat("rotate_query")
        self.play(OpacityFadeOut(strips), run_time=0.4)
        planes = self.planes(d)
        position = ValueTracker(0.0)
        counter_name = text(self.s("arrow_q"), SIZE_LABEL, COMPONENT["q"])
        counter = number(0, decimals=0, size=SIZE_LABEL, color=COMPONENT["q"])
        counter.add_updater(lambda m: m.set_value(position.get_value()))
        VGroup(counter_name, counter).arrange(RIGHT, buff=0.12).move_to([-1.4, 2.35, 0])
        q_arrows, q_marks, angle_texts = VGroup(), VGroup(), VGroup()
        for row, (plane, pair) in enumerate(zip(planes, d.pairs)):
            theta = d.inv_freq[pair]
            q_arrows.add(plane.rotating_arrow(d.q_before[row], lambda theta=theta: position.get_value() * theta, COMPONENT["q"]))
            # The recorded q_rot pair: the arrow must end on this dot at m.
            q_marks.add(Dot(plane.point(d.q_after[row] / d.attention_factor), radius=0.06, color=HIGHLIGHT))
            readout = number(0, decimals=0, size=SIZE_SMALL, color=COMPONENT["q"])
            readout.add_updater(lambda m, theta=theta: m.set_value(degrees(position.get_value() * theta)))
            degree = text("°", SIZE_SMALL, COMPONENT["q"])
            angle_texts.add(VGroup(readout, degree).arrange(RIGHT, buff=0.03).next_to(plane.circle, DOWN, buff=0.15))
            # The readout widens as it counts up, so the degree sign follows its right edge.
            degree.add_updater(lambda mark, readout=readout: mark.next_to(readout, RIGHT, buff=0.03, aligned_edge=UP))
        ghosts = VGroup(*[plane.ghost(d.q_before[row], COMPONENT["q"]) for row, plane in enumerate(planes)])
        self.play(*[OpacityFadeIn(p) for p in planes], OpacityFadeIn(ghosts), OpacityFadeIn(counter_name), OpacityFadeIn(counter), run_time=0.8)
        self.add(q_arrows, angle_texts)
        self.play(position.animate.set_value(d.query), run_time=max(2.0, min(0.25 * d.query, 5.0)), rate_func=linear)
        self.play(OpacityFadeIn(q_marks), run_time=0.4)
        q_angles = [degrees(a) for a in d.q_angles]
        self.say(self.s("rotate_query", m=d.query, a0=fmt(q_angles[0]), a1=fmt(q_angles[1 if len(q_angles) > 1 else 0]), a2=fmt(q_angles[-1]),
                        p0=d.pairs[0], p1=d.pairs[min(1, len(d.pairs) - 1)], p2=d.pairs[-1]))

        # Freeze the query arrows at m, then rotate the key from 0 to n
        self.beat("rotate_key")
        for arrow in q_arrows:
            arrow.clear_updaters()
        for readout in angle_texts:
            readout[0].clear_updaters()
        counter.clear_updaters()
        key_position = ValueTracker(0.0)
        k_counter_name = text(self.s("arrow_k"), SIZE_LABEL, COMPONENT["k"])
        k_counter = number(0, decimals=0, size=SIZE_LABEL, color=COMPONENT["k"])
        k_counter.add_updater(lambda m: m.set_value(key_position.get_value()))
        VGroup(k_counter_name, k_counter).arrange(RIGHT, buff=0.12).next_to(counter, RIGHT, buff=0.6)
        k_arrows, k_marks = VGroup(), VGroup()
        for row, (plane, pair) in enumerate(zip(planes, d.pairs)):
            theta = d.inv_freq[pair]
            k_arrows.add(plane.rotating_arrow(d.k_before[row], lambda theta=theta: key_position.get_value() * theta, COMPONENT["k"]))
            k_marks.add(Dot(plane.point(d.k_after[row] / d.attention_factor), radius=0.06, color=HIGHLIGHT))
        self.play(OpacityFadeOut(ghosts), OpacityFadeOut(angle_texts), OpacityFadeIn(k_counter_name), OpacityFadeIn(k_counter), run_time=0.5)
        self.add(k_arrows)
        self.play(key_position.animate.set_value(d.key), run_time=max(1.5, min(0.25 * d.key, 4.0)), rate_func=linear)
        self.play(OpacityFadeIn(k_marks), run_time=0.4)
        for arrow in k_arrows:
            arrow.clear_updaters()
        k_counter.clear_updaters()
        self.say(self.s("rotate_key", n=d.key))

        # Only m - n matters
        self.beat("relative")
        before, after = d.pair_dots()
        shift = max(d.query, 1)
        shifted = self.shifted_dots(d, shift)
        dots = VGroup()
        for row, plane in enumerate(planes):
            line = text(self.s("dot_line", before=fmt(before[row]), after=fmt(after[row]), shifted=fmt(shifted[row])), SIZE_SMALL, TEXT)
            dots.add(line.next_to(plane.circle, DOWN, buff=0.2))
        self.play(OpacityFadeIn(dots), run_time=0.6)
        self.say(self.s("relative", delta=d.query - d.key, shift=shift))

        # Closing still
        self.beat("still")
        self.end_on_still()

    def focus_parts(self):
        d = self.data
        return {"layer": d.layer, "head": d.head, "token": self.token_text(d.query)}

    def still(self):
        d = self.data
        half = d.head_dim // 2
        figure = Group()
        for row, pair in enumerate(d.pairs):
            plane = PairPlane(radius=PLANE_RADIUS, unit=plane_unit(d, row))
            heading = text(self.s("pair", i=pair, j=pair + half), SIZE_SMALL + 2, TEXT).next_to(plane.circle, UP, buff=0.15)
            arrows = VGroup(plane.arrow(d.q_after[row] / d.attention_factor, COMPONENT["q"]), plane.arrow(d.k_after[row] / d.attention_factor, COMPONENT["k"]))
            angle = text(self.s("period", period=fmt(d.periods[row])), SIZE_SMALL, MUTED).next_to(plane.circle, DOWN, buff=0.15)
            figure.add(VGroup(plane, heading, arrows, angle))
        figure.arrange(RIGHT, buff=0.6)
        figure = Group(self.arrow_legend(d).next_to(figure, UP, buff=0.4), figure)
        takeaways = [
            self.s("take_pairs", half=half, dim=d.head_dim),
            self.s("take_fast", i=d.pairs[0], period=fmt(d.periods[0])),
            self.s("take_slow", i=d.pairs[-1], period=fmt(d.periods[-1])),
            self.s("take_relative"),
        ]
        return figure, takeaways

    def arrow_legend(self, d: RopeRotationData) -> VGroup:
        """Return one row naming the arrows: q rotated to the query's position m, k to the key's position n."""
        entries = VGroup()
        for name, position, color in (("arrow_q", d.query, COMPONENT["q"]), ("arrow_k", d.key, COMPONENT["k"])):
            swatch = Arrow(LEFT * 0.3, RIGHT * 0.3, buff=0, color=color, stroke_width=5, max_tip_length_to_length_ratio=0.35)
            label = text(f"{self.s(name)} {position}", SIZE_LABEL, color)
            entries.add(VGroup(swatch, label).arrange(RIGHT, buff=0.15))
        return entries.arrange(RIGHT, buff=0.8)

    def pair_strips(self, d: RopeRotationData) -> Group:
        """Return the query and key as strips with the shown pairs (i, i + D/2) outlined and joined."""
        half = d.head_dim // 2
        limit = float(np.abs(np.concatenate([d.q_vector, d.k_vector])).max())
        q_strip = VectorStrip(d.q_vector, width=9.0, height=0.45, limit=limit, label="q", label_color=COMPONENT["q"], label_size=SIZE_LABEL)
        k_strip = VectorStrip(d.k_vector, width=9.0, height=0.45, limit=limit, label="k", label_color=COMPONENT["k"], label_size=SIZE_LABEL)
        q_strip.move_to([0.2, 1.2, 0])
        k_strip.move_to([0.2, -0.9, 0])
        marks = VGroup()
        for pair in d.pairs:
            for strip, color in ((q_strip, COMPONENT["q"]), (k_strip, COMPONENT["k"])):
                first, second = strip.cell_box(pair, color=HIGHLIGHT), strip.cell_box(pair + half, color=HIGHLIGHT)
                bridge = Line(first.get_bottom() if strip is q_strip else first.get_top(), second.get_bottom() if strip is q_strip else second.get_top(), stroke_color=MUTED, stroke_width=2, path_arc=0.6 if strip is q_strip else -0.6)
                marks.add(first, second, bridge)
            tag = text(str(pair), SIZE_SMALL, MUTED).move_to((q_strip.cell_center(pair) + k_strip.cell_center(pair)) / 2)
            marks.add(tag)
        return Group(q_strip, k_strip, marks)

    @staticmethod
    def shifted_dots(d: RopeRotationData, shift: int) -> np.ndarray:
        """Return each pair's q . k with both tokens moved `shift` positions later (rotated further)."""
        result = []
        for row, pair in enumerate(d.pairs):
            extra = shift * d.inv_freq[pair]
            result.append(float(np.dot(rotate2d(d.q_after[row], extra), rotate2d(d.k_after[row], extra))))
        return np.array(result)
