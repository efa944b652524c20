"""Write ``bench/geometries.json``: the random geometries of ``fastconv bench --check-choice``.

The list is drawn from a fixed seed by ``fastconv._bench.choice.random_geometries``; this file
only writes it out for reading (``tests/test_bench.py`` checks that the two agree).

Run: ``python bench/geometries.py``.
"""

from pathlib import Path

from fastconv._bench.choice import geometries_json, random_geometries

if __name__ == "__main__":
    path = Path(__file__).with_name("geometries.json")
    path.write_text(geometries_json(random_geometries()), encoding="utf-8")
    print(f"wrote {path}")
