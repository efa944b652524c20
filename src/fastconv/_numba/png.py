"""PNG scanline filters, undone: the one sequential step of decoding a PNG.

Each scanline of a PNG starts with a filter type byte (0 None, 1 Sub, 2 Up, 3 Average,
4 Paeth) and stores every byte as the difference from a prediction made of already decoded
bytes: ``a`` the byte one pixel to the left, ``b`` the byte above, ``c`` the byte above and to
the left (0 outside the image). Average and Paeth depend on the byte just reconstructed to
the left, so a row cannot be vectorised; this loop runs them at C speed. The caller
(``fastconv._png16``) checks every filter type is at most 4 before calling.
"""

from __future__ import annotations

from ._config import serial


@serial
def unfilter_scanlines(rows, bpp):
    """Reconstruct ``rows`` in place: ``rows[y, 0]`` is row ``y``'s filter type, ``rows[y, 1:]``
    its filtered bytes, which become the decoded ones; ``bpp`` is the bytes per pixel (at
    least 1). ``rows`` is ``uint8`` of shape ``(height, 1 + bytes per row)``, C-contiguous."""
    height, n = rows.shape
    for y in range(height):
        f = rows[y, 0]
        if f == 0:
            continue
        for x in range(1, n):
            a = 0
            if x > bpp:
                a = int(rows[y, x - bpp])
            b = 0
            c = 0
            if y > 0:
                b = int(rows[y - 1, x])
                if x > bpp:
                    c = int(rows[y - 1, x - bpp])
            if f == 1:
                pred = a
            elif f == 2:
                pred = b
            elif f == 3:
                pred = (a + b) >> 1
            else:
                pa = abs(b - c)
                pb = abs(a - c)
                pc = abs(a + b - 2 * c)
                if pa <= pb and pa <= pc:
                    pred = a
                elif pb <= pc:
                    pred = b
                else:
                    pred = c
            rows[y, x] = (int(rows[y, x]) + pred) & 0xFF
