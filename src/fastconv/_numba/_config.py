"""Numba options for every kernel, in one place.

``FASTMATH`` allows FMA contraction and reassociation (vectorised reductions) but *not* the
``nnan``/``ninf`` flags: NaN and inf in the input must propagate to exactly the outputs whose
window contains them. ``cache=True`` stores compiled kernels beside the sources, so a second
process starts in well under a second instead of recompiling.
"""

from __future__ import annotations

import numba

FASTMATH = {"contract", "reassoc", "nsz", "arcp"}

#: Every kernel is serial and releases the GIL: fastconv's own thread pool (``_threads``) runs
#: kernels on disjoint parts of the output. Numba's ``parallel=True`` is not used: its OpenMP
#: layer took 8 ms to launch a 0.2 ms loop on the 2-core dev VM, and one pool for both the
#: Numba and the BLAS phases is what keeps the two libraries from oversubscribing the cores.
serial = numba.njit(cache=True, nogil=True, fastmath=FASTMATH, error_model="numpy")

#: a helper inlined into its callers at Numba's IR level, so LLVM optimises the loop nest as
#: one function (a call per output row and tap cost 2.5x on 3×3 filtering)
inline = numba.njit(cache=True, nogil=True, fastmath=FASTMATH, error_model="numpy", inline="always")
