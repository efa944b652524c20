"""Numba loops on canonical arrays: arithmetic only.

Every kernel here takes contiguous float32/float64 arrays whose shapes were checked in
``fastconv._spec`` and whose outputs were allocated by the caller; kernels never validate and
never allocate. Numba options come from :mod:`fastconv._numba._config`.
"""
