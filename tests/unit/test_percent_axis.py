"""The share axis: Vega's label expression of wording.percent's "80 %"."""

from __future__ import annotations

from components.percent_axis import percent_axis, percent_label


def test_shares_of_one_are_multiplied_and_already_percent_ones_are_not() -> None:
    assert percent_label() == "format(datum.value * 100, '.2~f') + ' %'"
    assert percent_label(of_one=False) == "format(datum.value, '.2~f') + ' %'"


def test_the_axis_keeps_its_other_properties_and_has_no_vega_percent_format() -> None:
    axis = percent_axis(title="share", tickCount=5).to_dict()
    assert axis == {"labelExpr": percent_label(), "title": "share", "tickCount": 5}
