"""The curriculum scenes: one clip per experiment in `scenes.experiments`, drawn with the scene kit.

Each scene runs its experiment on the model while rendering (see `base.ExperimentScene`),
so every number on screen is computed then. This module imports neither manim nor torch:
`scenes.registry` calls `register_curriculum` to list the scenes.
"""

from __future__ import annotations

from collections.abc import Callable

# (scene id, module, class), in teaching order.
SCENES = (
    ("why-norm", "scenes.curriculum.why_norm", "WhyNormScene"),
    ("norm-compare", "scenes.curriculum.norm_compare", "NormCompareScene"),
    ("rope-basics", "scenes.curriculum.rope_basics", "RopeBasicsScene"),
    ("rope-frequencies", "scenes.curriculum.rope_frequencies", "RopeFrequenciesScene"),
    ("rope-precision", "scenes.curriculum.rope_precision", "RopePrecisionScene"),
    ("yarn", "scenes.curriculum.yarn", "YarnScene"),
    ("kv-cache", "scenes.curriculum.kv_cache", "KVCacheScene"),
    ("moe", "scenes.curriculum.moe", "MoEScene"),
    ("residual-stream", "scenes.curriculum.residual_stream", "ResidualStreamScene"),
)


def register_curriculum(register_scene: Callable[[str, str, str], object]) -> None:
    """Register every curriculum scene with `register_scene(scene_id, module, class_name)`."""
    for scene_id, module, class_name in SCENES:
        register_scene(scene_id, module, class_name)
