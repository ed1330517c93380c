"""The claim card that opens a clip and the closing still that doubles as a lecture slide."""

from __future__ import annotations

from manim import DOWN, LEFT, RIGHT, UP, Group, Line, Mobject, RoundedRectangle, VGroup, config

from .style import MARGIN, MUTED, PANEL, SIZE_CAPTION, SIZE_CLAIM, SIZE_HEADING, SIZE_SMALL, TEXT, TITLE_Y
from .text import fit_text, text


def claim_card(heading: str, claim: str, focus_line: str, color: str) -> VGroup:
    """Return a full-frame card: the concept name, its claim in one sentence, and what the trace shows.

    `focus_line` names the prompt, layer, head and token the evidence comes from.
    """
    width = config.frame_width - 2 * MARGIN - 1.0
    name = text(heading, SIZE_HEADING, color, weight="BOLD")
    rule = Line(LEFT * 0.6, RIGHT * 0.6, stroke_color=color, stroke_width=4)
    sentence = fit_text(claim, SIZE_CLAIM, width, color=TEXT, max_lines=3)
    focus = fit_text(focus_line, SIZE_SMALL + 2, width, color=MUTED, max_lines=2)
    card = VGroup(name, rule, sentence, focus).arrange(DOWN, buff=0.35)
    rule.align_to(name, LEFT)
    name.align_to(sentence, LEFT)
    rule.align_to(sentence, LEFT)
    focus.align_to(sentence, LEFT)
    return card.move_to([0, 0.2, 0])


class ClosingStill(Group):
    """A slide: title band, the scene's key figure, takeaway lines with computed values, provenance.

    The figure is scaled to fit the left column, or the whole width when there are no
    takeaways. Takeaways sit in a panel on the right.
    """

    def __init__(self, heading: str, figure: Mobject, takeaways: list[str], provenance: str, color: str):
        super().__init__()
        frame_w = config.frame_width
        self.heading = text(heading, SIZE_HEADING + 4, color, weight="BOLD")
        self.heading.move_to([0, TITLE_Y, 0]).to_edge(LEFT, buff=MARGIN)
        half = (frame_w - 2 * MARGIN) / 2
        underline = Line(LEFT * half, RIGHT * half, stroke_color=color, stroke_width=3)
        underline.next_to(self.heading, DOWN, buff=0.15).align_to(self.heading, LEFT)

        self.footer = fit_text(provenance, SIZE_SMALL, frame_w - 2 * MARGIN, color=MUTED, max_lines=2)
        self.footer.to_edge(DOWN, buff=0.25).to_edge(LEFT, buff=MARGIN)

        top = underline.get_bottom()[1] - 0.25
        bottom = self.footer.get_top()[1] + 0.25
        available_h = top - bottom
        panel_w = 4.6 if takeaways else 0.0
        figure_w = frame_w - 2 * MARGIN - (panel_w + 0.4 if takeaways else 0.0)

        self.figure = figure
        # Fill the column, but enlarge a small figure at most 1.5 times so its labels keep their proportions.
        factor = min(figure_w / figure.width, available_h / figure.height, 1.5)
        figure.scale(factor)
        figure.move_to([-frame_w / 2 + MARGIN + figure_w / 2, (top + bottom) / 2, 0])

        self.takeaways = VGroup()
        parts: list[Mobject] = [self.heading, underline, figure, self.footer]
        if takeaways:
            lines = [bullet(line, panel_w - 0.4) for line in takeaways]
            self.takeaways = VGroup(*lines).arrange(DOWN, buff=0.3, aligned_edge=LEFT)
            if self.takeaways.height > available_h - 0.4:
                self.takeaways.scale_to_fit_height(available_h - 0.4)
            panel = RoundedRectangle(
                corner_radius=0.12,
                width=panel_w,
                height=min(self.takeaways.height + 0.5, available_h),
                fill_color=PANEL,
                fill_opacity=1.0,
                stroke_width=0,
            )
            panel.move_to([frame_w / 2 - MARGIN - panel_w / 2, (top + bottom) / 2, 0])
            self.takeaways.move_to(panel)
            parts[3:3] = [panel, self.takeaways]
        self.add(*parts)


def bullet(content: str, width: float, size: float = SIZE_CAPTION - 4) -> VGroup:
    """Return a bullet point with a hanging indent: wrapped lines align with the first line's text."""
    mark = text("•", size, TEXT)
    body = fit_text(content, size, width - mark.width - 0.15, color=TEXT, max_lines=4)
    mark.next_to(body, LEFT, buff=0.15).align_to(body, UP).shift(DOWN * 0.02)
    return VGroup(mark, body)
