"""Explain a convolution: the step-by-step trace, its renderings, and the animation.

An edge of fastconv: it validates with the core's ``_spec`` and sizes everything with the
core's ``_shapes``; the core never imports it. Pillow is imported only when drawing.
"""

from .animation import animate
from .schema import TRACE_SCHEMA
from .trace import Step, Trace, explain

__all__ = ["TRACE_SCHEMA", "Step", "Trace", "animate", "explain"]
