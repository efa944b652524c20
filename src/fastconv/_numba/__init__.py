"""Numba loops on canonical arrays: arithmetic only.

Every kernel here takes contiguous float32/float64 arrays whose shapes were checked in
``fastconv._spec`` and whose outputs and workspaces were allocated by the caller; kernels never
validate, and the only memory they make is a few small index tables (which columns each kernel
tap reads inside the input). Numba options come from :mod:`fastconv._numba._config`. One
kernel is not about convolution: ``png.py`` undoes PNG scanline filters on ``uint8`` rows for
the 16-bit PNG reader (``fastconv._png16``), which checks the rows before calling it.
"""
