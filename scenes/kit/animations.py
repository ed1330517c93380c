"""Fades that scale opacities in place instead of copying the mobject.

manim's FadeIn and FadeOut deep-copy the whole mobject family two or three times when they
begin. For a slide full of Text glyphs that copying was half the render time of a draft clip
(profiled with cProfile on the attention scene, manim 0.22). These fades keep each family
member's own opacities and scale them by the animation's progress, so they copy nothing.
"""

from __future__ import annotations

from manim import Animation, ImageMobject, Mobject, VMobject


class _OpacityFade(Animation):
    """Scale every family member's opacity from 0 to its own value (in) or back to 0 (out)."""

    fade_in = True

    def __init__(self, mobject: Mobject, **kwargs):
        kwargs.setdefault("introducer", self.fade_in)
        kwargs.setdefault("remover", not self.fade_in)
        super().__init__(mobject, **kwargs)

    def create_starting_mobject(self) -> Mobject:
        # Nothing is interpolated from a start state, so there is nothing to copy.
        return Mobject()

    def begin(self) -> None:
        self._saved = []
        for member in self.mobject.get_family():
            if isinstance(member, VMobject):
                arrays = (member.fill_rgbas, member.stroke_rgbas, member.background_stroke_rgbas)
                self._saved.append((member, [array[:, 3].copy() for array in arrays]))
            elif isinstance(member, ImageMobject):
                self._saved.append((member, None))
        super().begin()

    def interpolate_mobject(self, alpha: float) -> None:
        progress = self.rate_func(alpha)
        level = progress if self.fade_in else 1.0 - progress
        self._apply(level)

    def _apply(self, level: float) -> None:
        for member, alphas in self._saved:
            if alphas is None:
                member.set_opacity(level)
                continue
            for array, original in zip((member.fill_rgbas, member.stroke_rgbas, member.background_stroke_rgbas), alphas):
                if len(array) == len(original):
                    array[:, 3] = original * level

    def clean_up_from_scene(self, scene) -> None:
        super().clean_up_from_scene(scene)
        # A faded-out mobject keeps its own opacities, so adding it again shows it as before.
        if not self.fade_in:
            self._apply(1.0)


class OpacityFadeIn(_OpacityFade):
    """Fade a mobject in from transparent, without copying it."""

    fade_in = True


class OpacityFadeOut(_OpacityFade):
    """Fade a mobject out and remove it from the scene, without copying it."""

    fade_in = False


__all__ = ["OpacityFadeIn", "OpacityFadeOut"]
