"""The bars with counts after them: the axis leaves room for the longest bar's number."""

from __future__ import annotations

import altair as alt
import pandas as pd

from components.bars import HEADROOM, count_axis, counted_bars


def test_the_count_axis_reaches_past_the_longest_bar_and_counts_in_whole_numbers() -> None:
    axis = count_axis("rows", "Rows", 40).to_dict()
    assert axis["scale"] == {"domain": [0, 40 * HEADROOM], "nice": False}
    assert axis["axis"]["format"] == "d" and axis["title"] == "Rows"
    assert count_axis("rows", "Rows", 0).to_dict()["scale"]["domain"] == [0, HEADROOM]


def test_each_bar_has_its_count_written_after_it_in_the_given_colours() -> None:
    data = pd.DataFrame({"label": ["a", "b"], "n": [1200, 3]})
    base = alt.Chart(data).encode(y="label:N", x=count_axis("n", "n", 1200))
    color = alt.Color("label:N", scale=alt.Scale(domain=["a", "b"], range=["#111", "#222"]))
    layers = {
        layer["mark"]["type"]: layer for layer in counted_bars(base, "n", color).to_dict()["layer"]
    }
    assert layers["bar"]["encoding"]["color"]["scale"]["range"] == ["#111", "#222"]
    assert layers["text"]["encoding"]["text"] == {
        "field": "n",
        "format": ",",
        "type": "quantitative",
    }
