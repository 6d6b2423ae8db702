"""The CLI's charts: well-formed SVG with one bar per (method, figure), zero-shot dashed, winners starred."""

import xml.etree.ElementTree as ET

from mma_studio.core.chart_data import GroupedBars, Lines, Series
from mma_studio.core.svg_chart import chart_svg, write_chart_svg

SVG = "{http://www.w3.org/2000/svg}"


def test_grouped_bars_draw_every_bar_the_references_dashed_and_the_winners(tmp_path):
    chart = GroupedBars(
        "t",
        ["Probe", "MMA"],
        [Series("base", [0.8, 0.79], [0.02, 0.01]), Series("new", [0.5, 0.74])],
        references=[("base", 0.51), ("new", 0.53)],
        winners={"base": 0, "new": 1},
    )
    root = ET.fromstring(chart_svg(chart))
    bars = [r for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    assert sorted(r.find(f"{SVG}title").text for r in bars) == sorted(
        ["base Probe: 80.0%", "base MMA: 79.0%", "new Probe: 50.0%", "new MMA: 74.0%"]
    )
    dashed = [line for line in root.iter(f"{SVG}line") if line.get("stroke-dasharray")]
    assert len(dashed) == 2
    assert sum(1 for t in root.iter(f"{SVG}text") if t.text == "★") == 2
    # a taller bar is drawn higher (smaller y) on the same axis
    heights = {r.find(f"{SVG}title").text: float(r.get("height")) for r in bars}
    assert heights["new MMA: 74.0%"] > heights["new Probe: 50.0%"]
    path = write_chart_svg(chart, tmp_path / "chart.svg")
    assert ET.parse(path).getroot().tag == f"{SVG}svg"


def test_lines_skip_missing_points_and_dash_the_named_series():
    chart = Lines(
        "t",
        [0.1, 0.5, 0.9],
        [Series("MMA new", [0.5, None, 0.9]), Series("Zero-shot new", [0.5, 0.5, 0.7])],
        dashed=["Zero-shot new"],
    )
    root = ET.fromstring(chart_svg(chart))
    lines = list(root.iter(f"{SVG}polyline"))
    assert [len(p.get("points").split()) for p in lines] == [2, 3]
    assert [bool(p.get("stroke-dasharray")) for p in lines] == [False, True]
