"""The static picture: its stairs on fixed samples, and a PNG drawn without pyplot."""

from __future__ import annotations

import base64
import math
import struct

import numpy as np

from iostat_widget.record import Record
from iostat_widget.sources.synthetic import synthetic_sample

from .test_record import T0, readings, samples, without

FIGURES = {"us": lambda s: s["cpu"]["us"], "write": lambda s: s["disk"]["write_bps"]}


def test_each_sample_is_a_stair_over_its_interval() -> None:
    from iostat_widget.picture import steps

    drawn = steps(samples(3), origin=T0 - 0.5, figures=FIGURES)
    assert drawn.edges.tolist() == [-0.5, 0.5, 1.5, 2.5]
    assert drawn.values["us"].tolist() == [s["cpu"]["us"] for s in samples(3)]
    assert drawn.values["write"].tolist() == [4096.0] * 3


def test_a_break_is_an_empty_stair() -> None:
    from iostat_widget.picture import steps

    kept = [synthetic_sample(0, T0), synthetic_sample(1, T0 + 1), synthetic_sample(5, T0 + 5)]
    drawn = steps(kept, origin=T0, figures=FIGURES)
    assert drawn.edges.tolist() == [-1.0, 0.0, 1.0, 4.0, 5.0]
    assert np.isnan(drawn.values["us"][2])
    assert [math.isnan(v) for v in drawn.values["write"]] == [False, False, True, False]


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def test_a_record_draws_a_png_with_the_kernel_panel() -> None:
    from iostat_widget.picture import window_png

    record = Record(samples(4), start=T0 - 0.5, end=T0 + 3.2, kernel=readings(4))
    png = record.png()
    assert png_size(png) == (960, 680) and record.png() is png  # drawn once
    bundle = record._repr_mimebundle_()
    assert base64.b64decode(bundle["image/png"]) == png
    assert bundle["text/plain"] == record.summary().line()
    plain = window_png([("synthetic", samples(4))], "window")
    assert png_size(plain) == (960, 470)
    several = window_png([("a", samples(3)), ("b", samples(2))], "two hosts")
    assert png_size(several) == (960, 470) and several != plain
    assert png_size(window_png([("empty", [])], "nothing yet")) == (960, 470)


def test_drawing_leaves_pyplot_alone_and_without_matplotlib_names_the_extra() -> None:
    code = """
        import sys
        from iostat_widget.record import Record
        from iostat_widget.sources.synthetic import synthetic_sample
        record = Record([synthetic_sample(n, 10.0 + n) for n in range(3)], start=9.5, end=12.5)
        try:
            png = record.png()
            print("png", len(png) > 1000, "matplotlib.pyplot" in sys.modules)
        except ImportError as err:
            print("ImportError:", err)
        print("repr", sorted(record._repr_mimebundle_()))
    """
    drawn = without("nothing-hidden", code)
    assert drawn.stdout.split("\n")[:2] == ["png True False", "repr ['image/png', 'text/plain']"]
    hidden = without("matplotlib", code)
    assert "ImportError: the static chart needs matplotlib" in hidden.stdout, hidden.stderr
    assert "pip install 'iostat-widget[record]'" in hidden.stdout
    assert "repr ['text/plain']" in hidden.stdout  # a notebook then shows the text instead
