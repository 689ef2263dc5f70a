"""What fcops says when Stripe did not answer a request: a read changed nothing; a change may
have reached Stripe and been done (it timed out after it was sent), so saying "nothing was
changed" about it would be a guess."""

from __future__ import annotations


def _within(waited: float | None) -> str:
    return f" in {max(1, round(waited))} s" if waited is not None else ""


def read_sentence(waited: float | None) -> str:
    """A GET that got no answer: nothing can have changed."""
    return (
        f"Could not reach Stripe{_within(waited)} (the connection failed or timed out); nothing "
        "was changed. Try again in a minute."
    )


def change_sentence(waited: float | None, *, keyed: bool) -> str:
    """A change (POST, DELETE) that got no answer. ``keyed``: it carried fcops' own idempotency
    key, which a person's retry sends again (pages keep a key after an unknown outcome), so
    Stripe does it once; without one, the person must look before trying again."""
    then = (
        "fcops sends it with the same idempotency key if you try again, so it will not happen "
        "twice."
        if keyed
        else "check whether it took effect before trying again."
    )
    return (
        f"Stripe did not answer{_within(waited)} (the connection failed or timed out). The "
        f"request may still have reached Stripe; {then}"
    )
