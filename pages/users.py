"""Users (admin): who can sign in with a password and with which role; add, change, remove,
set a password, see wrong passwords and lift a sign-in delay (a user's, or an address's). The
same users file as ``python -m services.users``, read fresh on every click, so a change applies at once. Every change is a keyed, audited service call
(:mod:`services.usecases.manage_users`); a button asks for it and it runs at the top of the next
run, where its sentence shows above the table it changed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pandas as pd
import streamlit as st

from pages import _runtime as runtime
from pages._pending import ask, take
from services.auth import ROLES
from services.rules.wording import counted
from services.usecases import manage_users

actor = runtime.guard("users.manage")
runtime.page_header(
    "Users",
    "Who can sign in to fcops with a password, and with which role. Changes apply at once: a "
    "removed user is signed out at their next click, a new one can sign in now.",
)
app = runtime.get_app()
svc, path = app.services, app.settings.users_file
ADD, ROLE, PASSWORD, REMOVE, UNLOCK, UNLOCK_ADDRESS = (
    "users-add", "users-role", "users-password", "users-remove", "users-unlock",
    "users-unlock-address",
)
PICK, PICK_ADDRESS = "users_pick", "users_pick_address"
PICKED_AS = "users_picked_as"  # (username, added_at): the user as picked (see picked_as)


def _said(done: manage_users.Done | None, scope: str, *others: str) -> None:
    """A change went through (or had, with this key): say so, and make the next one a new
    request."""
    if done is None:
        return
    (st.info if done.replayed else st.success)(done.message, icon=":material/check_circle:")
    for name in (scope, *others):
        runtime.new_request(name)


def _clear(*names: str) -> None:
    """Empty form boxes; this runs before the form draws, so they show empty on this run."""
    for name in names:
        st.session_state[name] = None if name == "users_new_role" else ""


def _add(values: dict[str, str]) -> None:
    _clear("users_new_password", "users_new_repeat")  # a password is never kept in a box
    if values["password"] != values["repeat"]:
        st.error("The two passwords differ; nobody was added.", icon=":material/error:")
        return
    details = {k: values[k] for k in ("username", "role", "name", "email")}
    said = runtime.call_keyed(ADD, details, manage_users.add_person, svc, actor, path,
                              password=values["password"], **details)
    if said is not None:
        _clear("users_new_username", "users_new_role", "users_new_name", "users_new_email")
    _said(said, ADD, REMOVE)


def _new_password(username: str, added_at: float, password: str, repeat: str) -> bool:
    """Set the password asked; whether it went through."""
    _clear("users_password", "users_password_repeat")
    if password != repeat:
        st.error("The two passwords differ; the password was not changed.",
                 icon=":material/error:")
        return False
    done = runtime.call_keyed(PASSWORD, {"user": username}, manage_users.new_password, svc, actor,
                              path, username, password, added_at=added_at)
    _said(done, PASSWORD)
    return done is not None


def run_actions() -> bool:
    """The change a button asked for, before the table draws (so the table shows its effect).
    False when a change asked for the picked user did not go through (see forget_stale_pick).
    Each is asked with the user's stamp as picked (``added_at``): the service refuses it if
    they were removed and added again meanwhile."""
    went = True
    if (args := take("add")) is not None:
        _add(*args)
    if (args := take("role")) is not None:
        username, role, added_at = args
        done = runtime.call_keyed(ROLE, {"user": username, "role": role},
                                  manage_users.change_role, svc, actor, path, username, role,
                                  added_at=added_at)
        _said(done, ROLE)
        went = done is not None
    if (args := take("password")) is not None:
        went = _new_password(*args)
    if (args := take("remove")) is not None:
        username, added_at = args
        done = runtime.call_keyed(REMOVE, {"user": username}, manage_users.remove_person,
                                  svc, actor, path, username, added_at=added_at)
        _said(done, REMOVE, ADD, ROLE)
        went = done is not None
        st.session_state[PICK] = None  # not popped: the box would go on showing them (below)
    if (args := take("unlock")) is not None:
        username, added_at = args
        done = runtime.call_keyed(UNLOCK, {"user": username}, manage_users.lift_delay,
                                  svc, actor, username, path=path, added_at=added_at)
        _said(done, UNLOCK)
        went = done is not None
    if (args := take("unlock_address")) is not None:
        (address,) = args
        _said(
            runtime.call_keyed(UNLOCK_ADDRESS, {"address": address},
                               manage_users.lift_address_delay, svc, actor, address),
            UNLOCK_ADDRESS,
        )
        st.session_state.pop(PICK_ADDRESS, None)
    return went


def _wrong(count: manage_users.SignInCount) -> str:
    """The tries counted: wrong passwords, and those refused unchecked during a delay (they
    were left out: "3 wrong passwords" after 7 tries)."""
    said = f"{count.failures} wrong password{'' if count.failures == 1 else 's'}"
    if count.refused:
        said += f", {_refused(count)}"
    return said


def _refused(count: manage_users.SignInCount) -> str:
    return f"{count.refused} more {'try' if count.refused == 1 else 'tries'} refused during the delay"


def held_back(count: manage_users.SignInCount) -> str:
    """How long sign-in waits: "Locked until 14:05 UTC", "Slowed until 14:05:31 UTC", or ""."""
    if count.locked_until:
        return f"Locked until {datetime.fromtimestamp(count.locked_until, UTC):%H:%M} UTC"
    if count.slowed_until:
        return f"Slowed until {datetime.fromtimestamp(count.slowed_until, UTC):%H:%M:%S} UTC"
    return ""


def sign_in_state(count: manage_users.SignInCount) -> str:
    """The table's Sign-in column, short enough to read whole at 1,400 px: whether the user can
    sign in now, or until when a delay holds them back. The tries are beside it (Wrong
    passwords) and in full under Change a user (:func:`sign_in_detail`)."""
    return held_back(count) or "Can sign in"


def sign_in_detail(count: manage_users.SignInCount) -> str:
    """The picked user's sign-in in a sentence: wrong passwords show from the first, before any
    delay, so an admin sees an attack (or a forgotten password) starting."""
    if count.slowed:
        return f"{held_back(count)}, after {_wrong(count)}."
    if count.failures:
        return f"Can sign in: {_wrong(count)} so far, not slowed down yet."
    return "Can sign in: no wrong password counted."


PEOPLE_COLUMNS = {  # px: they add up to less than the 938 px main column at 1,400 px
    "Username": st.column_config.TextColumn(width=120),
    "Name": st.column_config.TextColumn(width=170),
    "Email": st.column_config.TextColumn(width=240),
    "Role": st.column_config.TextColumn(width=80),
    "Sign-in": st.column_config.TextColumn(
        width=190,
        help="Whether the user can sign in now, or until when wrong passwords hold them back "
        "(slowed, then locked). Choose them under Change a user for the tries counted, or to "
        "lift the delay.",
    ),
    "Wrong passwords": st.column_config.NumberColumn(
        width=120, help="Counted now; tries refused during a delay are not wrong passwords."
    ),
}


def people_table(found: list[manage_users.Person]) -> None:
    frame = pd.DataFrame(
        [
            {"Username": p.username, "Name": p.name, "Email": p.email, "Role": p.role,
             "Sign-in": sign_in_state(p.sign_in), "Wrong passwords": p.sign_in.failures}
            for p in found
        ],
        columns=list(PEOPLE_COLUMNS),
    )
    st.caption(f"{counted(len(found), 'user')} who sign in with a password.")
    st.dataframe(frame, hide_index=True, width="stretch", column_config=PEOPLE_COLUMNS,
                 column_order=list(PEOPLE_COLUMNS))


def _ask_add() -> None:
    ask("add", {name: str(st.session_state.get(f"users_new_{name}") or "")
                for name in ("username", "role", "name", "email", "password", "repeat")})


def add_form() -> None:
    """The Add a user form, always on the page: nothing opens it, so nothing reruns or moves
    under the admin's next click. (It was in a box that reran the page as it opened,
    ``on_change="rerun"``, and grew for a moment after, scrolling the page: a role box clicked
    then opened and shut at once, and CI once lost a press of Add user made just then.)
    A refused add keeps what was typed, to mend; an add empties it (:func:`_add`)."""
    st.subheader("Add a user")
    with st.form("users_add", border=False):
        left, right = st.columns(2)
        left.text_input("Username", key="users_new_username", max_chars=32,
                        placeholder="lowercase, e.g. alice")
        right.selectbox("Role", ROLES, key="users_new_role", index=None,
                        placeholder="Choose a role")  # no default: admin is one click away
        left.text_input("Name", key="users_new_name", max_chars=100)
        right.text_input("Email", key="users_new_email", max_chars=200)
        left.text_input("Password", key="users_new_password", type="password",
                        max_chars=200)
        right.text_input("Repeat the password", key="users_new_repeat", type="password",
                         max_chars=200)
        st.form_submit_button("Add user", icon=":material/person_add:", on_click=_ask_add)
    st.caption("At least 12 characters that are hard to guess; common and demo passwords "
               "are refused. Give it to the person by a safe channel.")


def _ask_password(username: str, added_at: float) -> None:
    ask("password", username, added_at, str(st.session_state.get("users_password") or ""),
        str(st.session_state.get("users_password_repeat") or ""))


def picked_as(person: manage_users.Person) -> float:
    """The stamp of the user as the admin picked them, kept while the pick stays: every change
    is asked with it, so one meant for a user removed and added again since (by another admin)
    is refused instead of reaching the new person of that name unseen."""
    kept = st.session_state.get(PICKED_AS)
    if not kept or kept[0] != person.username:
        st.session_state[PICKED_AS] = kept = (person.username, person.added_at)
    return float(kept[1])


def forget_stale_pick(by_name: dict[str, manage_users.Person], went: bool) -> None:
    """A change refused because the picked user was removed and added again since (its sentence,
    "pick them again", is above) drops the pick, before the box draws, to be picked anew."""
    kept = st.session_state.get(PICKED_AS)
    person = by_name.get(kept[0]) if kept else None
    if not went and kept and person is not None and person.added_at != kept[1]:
        # Set, not popped: a key popped leaves the browser's box showing the old pick (with
        # the old name) above "Choose a user", where picking them again changed nothing.
        st.session_state[PICK] = None
        st.session_state.pop(PICKED_AS, None)


def change_panel(found: list[manage_users.Person], went: bool) -> None:
    by_name = {p.username: p for p in found}
    forget_stale_pick(by_name, went)
    st.subheader("Change a user")
    picked = st.selectbox(
        "User", list(by_name), index=None, key=PICK, placeholder="Choose a user",
        # Without the role: Streamlit keeps a choice by the words shown, so a label that
        # changed with the role (just saved) would drop the user chosen.
        format_func=lambda u: f"{u} · {by_name[u].name}" if u in by_name else u,
    )
    if picked is None or picked not in by_name:
        st.session_state.pop(PICKED_AS, None)
        st.caption("Choose a user to change their role or password, or to remove them.")
        return
    person: Any = by_name[picked]
    stamp = picked_as(person)
    own = picked == actor.username
    st.caption(f"Sign-in: {sign_in_detail(person.sign_in)}")
    role_col, unlock_col, remove_col = st.columns([3, 2, 2], vertical_alignment="bottom")
    # The box starts at the role the file holds, and goes back to it whenever that changes (saved
    # here, or by another admin meanwhile): a kept choice showed the old role with Save role on,
    # one click from undoing the other admin's change. Picked again after another user, the box
    # (not drawn meanwhile, so forgotten by Streamlit) showed its first role, admin, with Save on.
    box, was = f"users_role_{picked}", f"users_role_was_{picked}"
    if st.session_state.get(was) != person.role or box not in st.session_state:
        st.session_state[was] = person.role
        st.session_state[box] = person.role if person.role in ROLES else ROLES[0]
    role = role_col.selectbox("Role", ROLES, key=box, disabled=own,
                              help="Your own role is changed by another admin." if own else None)
    role_col.button("Save role", icon=":material/save:", on_click=ask,
                    args=("role", picked, role, stamp),
                    disabled=own or role == person.role, key="users_save_role")
    slowed = person.sign_in.slowed
    unlock_col.button(
        "Lift sign-in delay", icon=":material/lock_open:", on_click=ask, args=("unlock", picked, stamp),
        disabled=not slowed, key="users_unlock",
        help=None if slowed else "Their sign-in is not slowed down.",
    )
    with remove_col.popover("Remove user", icon=":material/person_remove:", disabled=own,
                            help="Another admin can remove you." if own else None):
        st.write(f"Remove **{picked}**? They are signed out at their next click.")
        st.button("Remove", type="primary", on_click=ask, args=("remove", picked, stamp),
                  key="users_remove")
    with st.form("users_password_form", border=False):
        left, right, go = st.columns([2, 2, 1], vertical_alignment="bottom")
        left.text_input("New password", key="users_password", type="password", max_chars=200)
        right.text_input("Repeat it", key="users_password_repeat", type="password",
                         max_chars=200)
        go.form_submit_button("Set password", icon=":material/password:",
                              on_click=_ask_password, args=(picked, stamp), width="stretch")


def address_state(count: manage_users.SignInCount) -> str:
    """The addresses table's Sign-in column: the delay (with the tries it refused), or the
    count before any delay."""
    if not count.slowed:
        return f"{_wrong(count)} (not slowed yet)"
    return f"{held_back(count)} ({_refused(count)})" if count.refused else held_back(count)


def addresses_panel(counted: list[manage_users.Address]) -> None:
    st.subheader("Addresses with wrong passwords")
    st.caption("Wrong passwords are also counted per address, for every username tried from it: "
               "people behind one address (an office) share its count and its delay. An address "
               "shows from its first wrong password, before any delay.")
    if not counted:
        st.caption("No wrong password is counted from any address now.")
        return
    frame = pd.DataFrame(
        [{"Address": a.address, "Wrong passwords": a.sign_in.failures,
          "Sign-in": address_state(a.sign_in)} for a in counted],
        columns=["Address", "Wrong passwords", "Sign-in"],
    )
    st.dataframe(frame, hide_index=True, width="stretch")
    slowed = [a.address for a in counted if a.sign_in.slowed]
    if not slowed:
        st.caption("None of them is slowed down or locked yet: there is no delay to lift.")
        return
    pick_col, go_col = st.columns([3, 2], vertical_alignment="bottom")
    address = pick_col.selectbox("Address", slowed, index=None,
                                 key=PICK_ADDRESS, placeholder="Choose an address slowed down")
    go_col.button(
        "Lift address delay", icon=":material/lock_open:", on_click=ask,
        args=("unlock_address", address), disabled=address is None, key="users_unlock_address",
        help="Everyone at this address can try again now; each username's own delay stays.",
    )


went = run_actions()
if app.settings.sso_enabled:
    st.caption("People who sign in with single sign-on take their role from the identity "
               "provider and are not listed here.")
found = runtime.call(manage_users.people, svc, actor, path)
if found is not None:
    people_table(found)
    add_form()
    change_panel(found, went)
addresses = runtime.call(manage_users.counted_addresses, svc, actor)
if addresses is not None:
    addresses_panel(addresses)
