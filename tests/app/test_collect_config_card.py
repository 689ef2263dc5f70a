"""Collect's step 2 says where the flow's configuration comes from: a saved version, or, when no
admin has saved the flow, fcops' built-in defaults (which every request sends to Stripe, so they
are not Stripe's defaults). It read "This is the flow's saved configuration; never saved, so
Stripe's defaults apply." before."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def _card(saved: bool) -> str:
    def script(saved: bool) -> None:
        from dataclasses import replace

        from components.collect_view import config_card
        from services.rules.flow_config import default_config

        config = default_config("setup_intent")
        config_card(replace(config, version=3, updated_by="ada") if saved else config)

    at = AppTest.from_function(script, kwargs={"saved": saved}).run()
    assert not at.exception
    return " ".join(c.value for c in at.caption) + " " + " ".join(
        str(m.proto.help) for m in at.metric
    )


def test_a_never_saved_flow_says_it_uses_fcops_defaults_and_names_them() -> None:
    said = _card(saved=False)
    assert (
        "No admin has saved this flow yet, so it uses fcops' built-in defaults (the values "
        "above), and each request sends them to Stripe." in said
    )
    assert "saved configuration" not in said and "Stripe's defaults" not in said


def test_a_saved_flow_names_its_version_and_who_saved_it() -> None:
    said = _card(saved=True)
    assert "This is the flow's saved configuration (v3, saved by ada)." in said
    assert "defaults" not in said
