import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest

from observability.burndown import render_burndown_svg
from observability.slo_math import SliPoint, budget_burndown, default_slos

SVG = "{http://www.w3.org/2000/svg}"
START = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - our own output, parsed to check it is well-formed


def plot_area(root: ET.Element) -> dict[str, float]:
    rect = root.find(f"{SVG}rect[@class='plot-area']")
    assert rect is not None
    return {key: float(rect.attrib[key]) for key in ("x", "y", "width", "height", "data-y-min", "data-y-max")}


def points_of(root: ET.Element) -> list[tuple[float, float]]:
    line = root.find(f"{SVG}polyline[@class='remaining']")
    assert line is not None
    return [(float(x), float(y)) for x, y in (pair.split(",") for pair in line.attrib["points"].split())]


def expected_point(area: dict[str, float], fraction_of_time: float, value: float) -> tuple[float, float]:
    x = area["x"] + area["width"] * fraction_of_time
    y = area["y"] + area["height"] * (area["data-y-max"] - value) / (area["data-y-max"] - area["data-y-min"])
    return round(x, 2), round(y, 2)


SERIES = [
    (START, Fraction(1)),
    (START + timedelta(days=2), Fraction(9, 10)),
    (START + timedelta(days=4), Fraction(1, 2)),
    (START + timedelta(days=7), Fraction(2, 5)),
]


def test_chart__is_well_formed_svg_with_an_accessible_title():
    root = parse(render_burndown_svg(SERIES, 640, 260, "checkout/production api-success"))

    assert root.tag == f"{SVG}svg"
    assert (root.get("width"), root.get("height"), root.get("role")) == ("640", "260", "img")
    assert root[0].tag == f"{SVG}title" and root[0].text == "checkout/production api-success"
    assert root.get("aria-labelledby") == "burndown-title burndown-desc"
    desc = root.find(f"{SVG}desc")
    assert desc is not None and "Remaining error budget 40%" in str(desc.text)


def test_chart__plots_every_point_where_its_value_belongs():
    root = parse(render_burndown_svg(SERIES, 640, 260, "t"))
    area = plot_area(root)

    assert (area["data-y-min"], area["data-y-max"]) == (0, 1)
    assert points_of(root) == [
        expected_point(area, 0, 1.0),
        expected_point(area, 2 / 7, 0.9),
        expected_point(area, 4 / 7, 0.5),
        expected_point(area, 1, 0.4),
    ]


def test_chart__draws_the_ideal_line_from_full_to_empty_across_the_window():
    root = parse(render_burndown_svg(SERIES, 640, 260, "t"))
    area = plot_area(root)
    ideal = root.find(f"{SVG}line[@class='ideal']")
    assert ideal is not None

    start, end = expected_point(area, 0, 1.0), expected_point(area, 1, 0.0)
    assert (float(ideal.attrib["x1"]), float(ideal.attrib["y1"])) == start
    assert (float(ideal.attrib["x2"]), float(ideal.attrib["y2"])) == end


def test_chart__labels_axes_and_current_value():
    svg = render_burndown_svg(SERIES, 640, 260, "t")
    texts = [el.text for el in parse(svg).iter(f"{SVG}text")]

    for label in ("100%", "75%", "50%", "25%", "0%", "03 Mar 12:00", "10 Mar 12:00", "40% left", "Remaining budget"):
        assert label in texts


def test_overspent_budget__extends_the_axis_below_zero():
    series = [(START, Fraction(1)), (START + timedelta(days=1), Fraction(-3, 4))]
    root = parse(render_burndown_svg(series, 400, 200, "t"))
    area = plot_area(root)

    assert area["data-y-min"] == -1
    assert points_of(root)[-1] == expected_point(area, 1, -0.75)
    assert "-75% left" in [el.text for el in root.iter(f"{SVG}text")]


def test_markup_in_the_title__is_escaped():
    title = 'api <script>alert("x")</script> & co'
    svg = render_burndown_svg(SERIES, 640, 260, title)

    assert "<script>" not in svg
    root = parse(svg)
    assert root[0].text == title
    assert root.find(f"{SVG}script") is None


def test_empty_series__renders_a_no_data_chart():
    root = parse(render_burndown_svg([], 640, 260, "t"))
    assert "No data in this window" in [el.text for el in root.iter(f"{SVG}text")]
    assert root.find(f"{SVG}polyline") is None


def test_unsorted_series__is_rejected():
    with pytest.raises(ValueError, match="sorted"):
        render_burndown_svg(list(reversed(SERIES)), 640, 260, "t")


def test_burndown_of_real_points__renders_one_point_per_step():
    slo = next(s for s in default_slos("production", service="checkout") if s.name == "api-success")
    end = START + timedelta(days=7)
    points = {}
    for m in range(1, 7 * 24 * 60 + 1):
        minute = end - timedelta(minutes=m)
        points[minute] = SliPoint(minute=minute, total=100, errors=1 if m % 200 == 0 else 0)
    series = budget_burndown(slo, points, end, step=timedelta(hours=6))

    root = parse(render_burndown_svg(series, 640, 260, f"{slo.service}/{slo.environment} {slo.name}"))
    assert len(points_of(root)) == len(series) == 29
    # 50 bad minutes of 1,008,000 requests against a budget of 1008: about 95% left.
    assert series[-1][1] == 1 - Fraction(50, 1008)
