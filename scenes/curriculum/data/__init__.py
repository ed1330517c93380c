"""Data for the curriculum scenes: experiment results turned into what a scene draws, without manim.

Each module has one dataclass and one builder taking the experiment's result, so a test can
compare what is drawn with what the experiment computed.
"""
