from __future__ import annotations

from pathlib import Path

import pytest

from services.adapters.settings import load_settings
from services.errors import ConfigurationError


def test_no_key_means_sandbox_mode(tmp_path: Path) -> None:
    settings = load_settings({}, secrets_path=tmp_path / "none.toml")
    assert settings.mode == "sandbox"
    assert settings.redacted_key() == "none (sandbox)"


def test_a_test_key_means_test_mode_and_is_never_in_repr(tmp_path: Path) -> None:
    key = "sk_test_" + "a1B2" * 6
    settings = load_settings({"STRIPE_API_KEY": key}, secrets_path=tmp_path / "none.toml")
    assert settings.mode == "test"
    assert key not in repr(settings)
    assert settings.redacted_key().endswith(key[-4:])
    assert key not in settings.redacted_key()


def test_a_live_key_is_refused_without_the_explicit_opt_in(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="FCOPS_ALLOW_LIVE"):
        load_settings({"STRIPE_API_KEY": "sk_live_" + "z" * 24}, secrets_path=tmp_path / "x.toml")
    settings = load_settings(
        {"STRIPE_API_KEY": "sk_live_" + "z" * 24, "FCOPS_ALLOW_LIVE": "true"},
        secrets_path=tmp_path / "x.toml",
    )
    assert settings.mode == "live"


@pytest.mark.parametrize("key", ["sk_test_...", "sk_test_changeme", "pk_test_abcdefabcdef", "hello"])
def test_placeholder_and_publishable_keys_are_refused_with_a_reason(key: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as err:
        load_settings({"STRIPE_API_KEY": key}, secrets_path=tmp_path / "x.toml")
    assert "STRIPE_API_KEY" in str(err.value)


def test_secrets_file_is_read_and_environment_wins(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('DATABASE_URL = "sqlite:///from-file.db"\nFCOPS_SANDBOX_CUSTOMERS = 7\n')
    settings = load_settings({"FCOPS_SANDBOX_CUSTOMERS": "9"}, secrets_path=secrets)
    assert settings.database_url == "sqlite:///from-file.db"
    assert settings.sandbox_customers == 9


def test_a_malformed_number_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="FCOPS_STRIPE_TIMEOUT"):
        load_settings({"FCOPS_STRIPE_TIMEOUT": "soon"}, secrets_path=tmp_path / "x.toml")


def test_a_broken_secrets_file_is_reported_not_crashed_on(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.toml"
    secrets.write_text("this is = = not toml")
    with pytest.raises(ConfigurationError, match="not valid TOML"):
        load_settings({}, secrets_path=secrets)


def test_the_example_secrets_file_names_every_setting() -> None:
    example = (Path(__file__).parents[2] / ".streamlit" / "secrets.toml.example").read_text()
    import services.adapters.settings as mod

    source = Path(mod.__file__).read_text()
    import re

    names = set(re.findall(r'get\("([A-Z_]+)"\)', source))
    assert names, "settings read no names?"
    missing = [n for n in names if n not in example]
    assert not missing, f"secrets.toml.example does not show: {missing}"
