"""fastconv: the convolution operation of CNNs and image filtering, for NumPy.

The kernel slides over the input from top-left to bottom-right with a stride; each window is
multiplied element-wise with the kernel and summed; the sums are the output. ``conv1d``,
``conv2d`` and ``conv3d`` do that with PyTorch's semantics (batches, channels, stride, padding,
dilation, groups, bias) on NumPy arrays, choosing between a direct Numba algorithm and an
im2col/BLAS algorithm, or two 1-D passes for rank-1 kernels (``plan`` says which and why).
``conv_transpose1d/2d/3d`` and the gradients (``conv2d_backward``, ``conv2d_input``,
``conv2d_weight``, ...) are convolutions run by the same algorithms (:mod:`fastconv.grad`);
:mod:`fastconv.nn` has layers that learn. ``filter_image`` filters grayscale and colour images
with ndimage's border modes. ``explain`` traces a convolution step by step and ``animate`` draws
it as an animated GIF. ``correlate``, ``convolve``, ``correlate2d``, ``convolve2d``,
``fftconvolve``, ``oaconvolve`` and ``choose_conv_method`` are ``scipy.signal``'s functions with
its semantics (:mod:`fastconv.signal`). Given a Dask array, ``filter_image``, ``conv1d/2d/3d``,
``correlate``, ``convolve``, ``correlate2d`` and ``convolve2d`` return a Dask array computed chunk
by chunk (:mod:`fastconv.dask`, imported only then; ``pip install "fastconv[dask]"``).
"""

from . import kernels
from ._autotune import (
    autotune,
    autotune_cache,
    autotune_path,
    clear_autotune,
    load_autotune,
    save_autotune,
)
from ._explain import TRACE_SCHEMA, Step, Trace, animate, explain
from ._options import get_workspace_limit, set_workspace_limit, workspace_limit
from ._threads import num_threads as get_num_threads
from ._threads import set_num_threads
from .algorithms import Method
from .functional import (
    Plan,
    conv1d,
    conv2d,
    conv3d,
    conv_transpose1d,
    conv_transpose2d,
    conv_transpose3d,
    plan,
)
from .grad import (
    conv1d_backward,
    conv1d_input,
    conv1d_weight,
    conv2d_backward,
    conv2d_input,
    conv2d_weight,
    conv3d_backward,
    conv3d_input,
    conv3d_weight,
)
from .image import filter_image
from .signal import (
    choose_conv_method,
    convolve,
    convolve2d,
    correlate,
    correlate2d,
    fftconvolve,
    oaconvolve,
)

__version__ = "0.1.0"

__all__ = [
    "TRACE_SCHEMA",
    "Method",
    "Plan",
    "Step",
    "Trace",
    "__version__",
    "animate",
    "autotune",
    "autotune_cache",
    "autotune_path",
    "choose_conv_method",
    "clear_autotune",
    "conv1d",
    "conv1d_backward",
    "conv1d_input",
    "conv1d_weight",
    "conv2d",
    "conv2d_backward",
    "conv2d_input",
    "conv2d_weight",
    "conv3d",
    "conv3d_backward",
    "conv3d_input",
    "conv3d_weight",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "convolve",
    "convolve2d",
    "correlate",
    "correlate2d",
    "explain",
    "fftconvolve",
    "filter_image",
    "get_num_threads",
    "get_workspace_limit",
    "kernels",
    "load_autotune",
    "oaconvolve",
    "plan",
    "save_autotune",
    "set_num_threads",
    "set_workspace_limit",
    "workspace_limit",
]
