"""What makes a password or a cookie key acceptable. Pure rules: no I/O.

The strength estimate itself comes from ``zxcvbn`` (called by ``services.users``); this module
turns its verdict, and the demo and placeholder lists, into a sentence a person can act on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# One demo user per role, for sandbox mode only (listed in the README). Never valid elsewhere:
# outside sandbox mode no username may sign in with any of these passwords.
DEMO_USERS: dict[str, tuple[str, str]] = {
    "admin": ("admin", "fcops-admin-demo"),
    "ops": ("ops", "fcops-ops-demo"),
    "finance": ("finance", "fcops-finance-demo"),
    "manager": ("manager", "fcops-manager-demo"),
}
DEMO_PASSWORDS: frozenset[str] = frozenset(p for _, p in DEMO_USERS.values())

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 72  # bytes: bcrypt reads no more (and zxcvbn estimates no more)
MIN_SCORE = 3  # zxcvbn: 0 too guessable … 4 very unguessable; 3 = "safely unguessable"

MIN_COOKIE_KEY_LENGTH = 32
# Words that mark a value copied from an example instead of generated.
PLACEHOLDER_HINTS: tuple[str, ...] = (
    "...",
    "xxx",
    "changeme",
    "change-me",
    "change_me",
    "your_",
    "your-",
    "<",
    "replace",
    "example",
    "placeholder",
    "secret",
    "password",
    "default",
    "demo",
    "fcops",
    "todo",
)


def is_demo_password(password: str) -> bool:
    return password in DEMO_PASSWORDS


def password_problem(password: str, estimate: Mapping[str, Any] | None) -> str | None:
    """Why ``password`` cannot be used, or None. ``estimate`` is zxcvbn's result for it."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Passwords need at least {MIN_PASSWORD_LENGTH} characters."
    if len(password.encode()) > MAX_PASSWORD_LENGTH:
        return f"Passwords may have at most {MAX_PASSWORD_LENGTH} bytes (bcrypt ignores the rest)."
    if password != password.strip():
        return "Passwords may not start or end with a space (the sign-in form drops it)."
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in password):
        return "Passwords may not contain control characters."
    if is_demo_password(password):
        return "That is a published demo password; choose another."
    if estimate is not None and int(estimate.get("score", 0)) < MIN_SCORE:
        feedback = estimate.get("feedback") or {}
        hints = [feedback.get("warning") or "", *(feedback.get("suggestions") or [])]
        detail = " ".join(h.strip() for h in hints if h and h.strip())
        return "That password is too easy to guess." + (f" {detail}" if detail else "")
    return None


def cookie_key_problem(key: str) -> str | None:
    """Why ``key`` cannot sign login cookies outside sandbox mode, or None."""
    if not key:
        return (
            "Set FCOPS_COOKIE_KEY outside sandbox mode; it signs login cookies "
            f"({MIN_COOKIE_KEY_LENGTH}+ random characters, e.g. python -c "
            "'import secrets; print(secrets.token_urlsafe(32))')."
        )
    if len(key) < MIN_COOKIE_KEY_LENGTH:
        return (
            f"FCOPS_COOKIE_KEY is too short ({len(key)} characters); it needs "
            f"{MIN_COOKIE_KEY_LENGTH}+ random characters."
        )
    lowered = key.lower()
    if any(hint in lowered for hint in PLACEHOLDER_HINTS):
        return "FCOPS_COOKIE_KEY looks like a placeholder or demo value; generate a random one."
    if len(set(key)) < 12:
        return "FCOPS_COOKIE_KEY repeats too few characters to be random; generate a random one."
    return None
