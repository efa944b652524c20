"""The parts of ``fastconv bench`` that do not depend on its workloads or peers.

``measure`` times calls (warm-up, calibrated loops, interleaved samples after an idle gap) and
measures a call's peak extra memory; ``roofline`` measures the machine's float32 matrix-product
peak and memory bandwidth and applies the roofline model; ``choice`` times every method of
fastconv on W0–W10 and on a fixed list of random geometries (``--check-choice``); ``report``
renders tables and JSON; ``plot`` draws bar and line charts with Pillow. The workloads, the
peers and the command line are in :mod:`fastconv.bench`.
"""
