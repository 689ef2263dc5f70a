"""One typed settings object, read from the environment and ``.streamlit/secrets.toml``.

Environment variables win over the secrets file. Secrets are kept out of ``repr`` so they never
reach a log or a page. No STRIPE_API_KEY means sandbox mode.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Literal

from services.errors import ConfigurationError, ValidationError
from services.rules.secrets import mask_secrets
from services.rules.sso import parse_role_map

Mode = Literal["sandbox", "test", "live"]
ROOT = Path(__file__).resolve().parents[2]  # the repository (this file is services/adapters/settings.py)
DEFAULT_SECRETS = ROOT / ".streamlit" / "secrets.toml"

_PLACEHOLDERS = ("...", "xxx", "changeme", "your_", "<", "replace")
_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True, repr=False)
class Settings:
    stripe_api_key: str | None = field(default=None, repr=False)
    allow_live: bool = False
    data_dir: Path = ROOT / "data"
    database_url: str = field(default="", repr=False)
    users_file: Path = ROOT / "data" / "users.yaml"
    cookie_key: str = field(default="", repr=False)
    cookie_name: str = "fcops_auth"
    cookie_expiry_days: float = 1.0
    stripe_timeout_seconds: float = 20.0
    stripe_max_retries: int = 2
    sandbox_seed: int = 42
    sandbox_customers: int = 200
    sandbox_refresh_delay: float = 2.0
    sandbox_port: int = 0
    sso_role_claim: str = "groups"
    sso_roles: tuple[tuple[str, str], ...] = ()  # (claim value, role), first match wins

    @property
    def sso_enabled(self) -> bool:
        """Single sign-on is offered when a role mapping is set (and ``[auth]`` in secrets)."""
        return bool(self.sso_roles)
    # Background work (DBOS) and the webhook endpoint.
    stripe_rate_limit: float = 0.0  # requests/s for the whole deployment; 0: 25 test, 90 live
    webhook_port: int = 0  # 0: a free port
    webhook_host: str = "127.0.0.1"
    webhook_secret: str = field(default="", repr=False)  # whsec_… (test/live)
    webhook_public_url: str = ""  # where Stripe reaches the endpoint (test/live registration)
    checkout_return_url: str = ""  # where a customer lands after Collect's hosted link
    dbos_schema: str = "dbos"
    safety_sync_minutes: int = 0  # an incremental sync every N minutes (0: off; bin/run: 5)
    nightly_refresh_hour: int = -1  # UTC hour of the nightly balance refresh (-1: off)
    executor_id: str = ""  # this process's DBOS executor ID (unique per process when scaled out)

    @property
    def rate_limit(self) -> float:
        """Stripe requests per second shared by every process (Stripe: 25 test, 100 live)."""
        if self.stripe_rate_limit > 0:
            return self.stripe_rate_limit
        return 90.0 if self.mode == "live" else 25.0

    @property
    def mode(self) -> Mode:
        if not self.stripe_api_key:
            return "sandbox"
        return "live" if "_live_" in self.stripe_api_key else "test"

    @property
    def resolved_database_url(self) -> str:
        """The one store the app, its worker and the command line all use."""
        return self.database_url or f"sqlite:///{self.data_dir / f'fcops-{self.mode}.db'}"

    def __repr__(self) -> str:  # secrets masked: the key, passwords in the database URL
        shown = [
            f"{f.name}={getattr(self, f.name)!r}"
            for f in fields(self)
            if f.repr
        ]
        shown.insert(1, f"stripe_api_key={self.redacted_key()!r}")
        shown.insert(3, f"database_url={mask_secrets(self.database_url)!r}")
        shown.append(f"cookie_key={'[set]' if self.cookie_key else '[unset]'!r}")
        return f"Settings({', '.join(shown)})"

    def redacted_key(self) -> str:
        """What a page may show about the key: its type and last four characters."""
        if not self.stripe_api_key:
            return "none (sandbox)"
        return f"{self.stripe_api_key[:8]}…{self.stripe_api_key[-4:]}"


def _read_secrets(path: Path) -> dict[str, object]:
    if not path.exists():
        return {}
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as err:
        raise ConfigurationError(f"{path} is not valid TOML: {err}") from None


def _lookup(env: Mapping[str, str], secrets: Mapping[str, object], name: str) -> str | None:
    if env.get(name) not in (None, ""):
        return env[name]
    value = secrets.get(name, secrets.get(name.lower()))
    return None if value in (None, "") else str(value)


def _number(raw: str | None, name: str, kind: type[int] | type[float], default: float) -> float:
    if raw is None:
        return default
    try:
        return kind(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number, got '{raw}'.") from None


def _positive(value: float, name: str) -> float:
    if value <= 0:
        raise ConfigurationError(f"{name} must be more than 0, got {value}.")
    return value


def _check_key(key: str, allow_live: bool) -> None:
    if any(p in key.lower() for p in _PLACEHOLDERS):
        raise ConfigurationError(
            "STRIPE_API_KEY looks like a placeholder. Set a real test key, or remove it to use the sandbox."
        )
    if not key.startswith(("sk_test_", "rk_test_", "sk_live_", "rk_live_")):
        raise ConfigurationError(
            "STRIPE_API_KEY must be a secret (sk_) or restricted (rk_) key; publishable keys (pk_) "
            "cannot be used on a server."
        )
    if "_live_" in key and not allow_live:
        raise ConfigurationError(
            "A live Stripe key is set but FCOPS_ALLOW_LIVE is not 'true'. Live mode moves real money: "
            "set FCOPS_ALLOW_LIVE=true deliberately, or use a test key."
        )


def load_settings(
    env: Mapping[str, str] | None = None, *, secrets_path: Path | None = None
) -> Settings:
    """Build Settings, failing fast with a clear message on unusable values."""
    env = os.environ if env is None else env
    secrets = _read_secrets(secrets_path or DEFAULT_SECRETS)

    def get(name: str) -> str | None:
        return _lookup(env, secrets, name)

    key = get("STRIPE_API_KEY")
    allow_live = (get("FCOPS_ALLOW_LIVE") or "").lower() in _TRUE
    if key:
        _check_key(key.strip(), allow_live)
    data_dir = Path(get("FCOPS_DATA_DIR") or ROOT / "data")
    return Settings(
        stripe_api_key=key.strip() if key else None,
        allow_live=allow_live,
        data_dir=data_dir,
        database_url=get("DATABASE_URL") or "",
        users_file=Path(get("FCOPS_USERS_FILE") or data_dir / "users.yaml"),
        cookie_key=get("FCOPS_COOKIE_KEY") or "",
        cookie_expiry_days=_positive(
            _number(get("FCOPS_COOKIE_EXPIRY_DAYS"), "FCOPS_COOKIE_EXPIRY_DAYS", float, 1.0),
            "FCOPS_COOKIE_EXPIRY_DAYS",
        ),
        stripe_timeout_seconds=_number(
            get("FCOPS_STRIPE_TIMEOUT"), "FCOPS_STRIPE_TIMEOUT", float, 20.0
        ),
        stripe_max_retries=int(
            _number(get("FCOPS_STRIPE_MAX_RETRIES"), "FCOPS_STRIPE_MAX_RETRIES", int, 2)
        ),
        sandbox_seed=int(_number(get("FCOPS_SANDBOX_SEED"), "FCOPS_SANDBOX_SEED", int, 42)),
        sandbox_customers=int(
            _number(get("FCOPS_SANDBOX_CUSTOMERS"), "FCOPS_SANDBOX_CUSTOMERS", int, 200)
        ),
        sandbox_refresh_delay=_number(
            get("FCOPS_SANDBOX_REFRESH_DELAY"), "FCOPS_SANDBOX_REFRESH_DELAY", float, 2.0
        ),
        sandbox_port=int(_number(get("FCOPS_SANDBOX_PORT"), "FCOPS_SANDBOX_PORT", int, 0)),
        sso_role_claim=(get("FCOPS_SSO_ROLE_CLAIM") or "groups").strip(),
        sso_roles=_role_map(get("FCOPS_SSO_ROLES") or ""),
        stripe_rate_limit=_number(
            get("FCOPS_STRIPE_RATE_LIMIT"), "FCOPS_STRIPE_RATE_LIMIT", float, 0.0
        ),
        webhook_port=int(_number(get("FCOPS_WEBHOOK_PORT"), "FCOPS_WEBHOOK_PORT", int, 0)),
        webhook_host=get("FCOPS_WEBHOOK_HOST") or "127.0.0.1",
        webhook_secret=get("STRIPE_WEBHOOK_SECRET") or "",
        webhook_public_url=get("FCOPS_WEBHOOK_URL") or "",
        checkout_return_url=(get("FCOPS_CHECKOUT_RETURN_URL") or "").strip(),
        dbos_schema=get("FCOPS_DBOS_SCHEMA") or "dbos",
        executor_id=get("FCOPS_EXECUTOR_ID") or "",
        safety_sync_minutes=int(
            _number(get("FCOPS_SAFETY_SYNC_MINUTES"), "FCOPS_SAFETY_SYNC_MINUTES", int, 0)
        ),
        nightly_refresh_hour=_hour(get("FCOPS_NIGHTLY_REFRESH_HOUR")),
    )


def _hour(raw: str | None) -> int:
    """``FCOPS_NIGHTLY_REFRESH_HOUR``: an hour of the day in UTC, or unset/empty for off."""
    if raw is None or not raw.strip():
        return -1
    hour = int(_number(raw.strip(), "FCOPS_NIGHTLY_REFRESH_HOUR", int, -1))
    if not 0 <= hour <= 23:
        raise ConfigurationError(
            f"FCOPS_NIGHTLY_REFRESH_HOUR must be an hour from 0 to 23 (UTC), got {hour}; "
            "leave it unset to keep the nightly refresh off."
        )
    return hour


def _role_map(text: str) -> tuple[tuple[str, str], ...]:
    try:
        return parse_role_map(text, roles=None)  # the roles themselves: bootstrap checks them
    except ValidationError as err:
        raise ConfigurationError(str(err)) from None
