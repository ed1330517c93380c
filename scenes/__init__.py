"""Manim scenes that explain a MiniMind trace, and the API to render them.

  scenes.registry   scene ids in curriculum order: list_scenes, get_scene, register_scene
  scenes.render     render_scene(scene_id, trace, options) -> output path, with a JSON sidecar
  scenes.kit        the shared visual language and pieces (imports manim)
  scenes.data       per-scene data extraction: pure functions from a trace to a dataclass

Each scene module (scenes/rmsnorm.py, ...) also renders with the plain manim CLI, e.g.
`manim -ql scenes/attention.py AttentionScene`; see scenes.inputs for the environment
variables it reads.
"""
