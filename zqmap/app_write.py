"""Every write the app makes goes through :func:`save`: the server decides who may write, one user
action is one transaction, and a stale write is refused and explained, never merged.

An edit screen builds :class:`zqmap.store.Change` values from its widgets, each with the ``base``
its form opened on (:func:`base_of`), and calls :func:`save` from its button's callback. Whatever
the browser sent, :func:`save` asks :func:`zqmap.app_auth.authorize` first (a viewer session that
forges widget state or triggers a callback writes nothing), then writes all the changes or none
(:meth:`zqmap.store.Store.append_many`). The author and role recorded are the ones the server's
gate returns, never a value from the session.

The :class:`Outcome` says what happened: the events written, or the problems (one per field), or
the events someone else wrote since the form opened (:attr:`Outcome.stale`; the screen keeps the
user's input and offers to save on top, with :meth:`Outcome.rebased`), or a refusal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from zqmap import app_auth, auth
from zqmap.escape import md_text
from zqmap.i18n import t
from zqmap.register import Dataset
from zqmap.store import Change, Event, Problem, StaleError, StoreError, open_store

__all__ = ["Change", "Outcome", "base_of", "save"]


@dataclass(frozen=True)
class Outcome:
    """What one save did. Exactly one of ``events`` (written), ``problems``, ``stale`` or ``denied``
    is set, except that a stale save also carries the stale problems."""

    events: tuple[Event, ...] = ()
    problems: tuple[Problem, ...] = ()
    stale: tuple[Event, ...] = ()  # written by others since the base, oldest first
    denied: str = ""  # the refusal, in the user's language
    author: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.events) and not (self.problems or self.stale or self.denied)

    @property
    def numbers(self) -> str:
        """The written events' sequence numbers as a user cites them: ``#12``, or ``#12–#14`` for an
        action of several events (one transaction: consecutive). Each save's confirmation names its own,
        so a confirmation left on screen is never mistaken for the next save's."""
        seqs = [e.seq for e in self.events]
        if not seqs:
            return ""
        return f"#{seqs[0]}" if len(seqs) == 1 else f"#{min(seqs)}–#{max(seqs)}"

    def rebased(self, bases: dict[str, int]) -> dict[str, int]:
        """``bases`` moved past what :attr:`stale` reports: saving again then writes on top of it."""
        out = dict(bases)
        for ev in self.stale:
            out[ev.project] = max(out.get(ev.project, 0), ev.seq)
        return out

    def problems_by_record(self, lang: str) -> dict[str, list[str]]:
        """Problem lines in ``lang`` by record (a project id, ``-`` for the envelope), for marking rows."""
        out: dict[str, list[str]] = {}
        for p in self.problems:
            out.setdefault(p.record, []).append(p.brief_in(lang))
        return out

    @property
    def needs_reason(self) -> bool:
        """The store refused for want of a reason (a correction): the form asks for one."""
        return any(p.field == "reason" for p in self.problems)


def base_of(ds: Dataset, project: str) -> int:
    """The sequence number a form opening on ``project`` saw (0 before any event): its ``base``."""
    if "last_seq" not in ds.projects.columns:
        return 0
    hit = ds.projects.loc[ds.projects["id"] == project, "last_seq"]
    return int(hit.iloc[0]) if len(hit) else 0


def save(location: str | None, plan: Dataset, changes: Sequence[Change], lang: str, *,
         action: str = auth.EDIT) -> Outcome:
    """Authorize and write ``changes`` as one action; never raises for a refusal.

    Parameters
    ----------
    location : str or None
        The store (a GeoPackage path or a PostgreSQL URL); ``None`` means the app has none.
    plan : Dataset
        The register as loaded from its files (:func:`zqmap.register.load`), not the frame with
        the store's state laid over it: the store checks events against the plan.
    changes : sequence of Change
        The events of one user action, each with the ``base`` its form opened on.
    lang : str
        The language of the messages.
    action : str
        :data:`zqmap.auth.EDIT`, or :data:`zqmap.auth.REVERT` when the changes are reverts (each is
        then authorized against the author of the event it undoes).
    """
    if not location:
        return Outcome(denied=md_text(t("edit_no_store", lang)))
    if "last_seq" in plan.projects.columns:
        raise ValueError("save() needs the plan (zqmap.register.load), not the frame with the store's state")
    if not changes:
        return Outcome()
    try:
        who = _authorize(location, plan, changes, action)
    except auth.PermissionDenied as exc:
        return Outcome(denied=app_auth.message(exc, lang))
    except StoreError as exc:
        return Outcome(problems=tuple(exc.problems))
    try:
        with open_store(location, plan) as store:
            events = store.append_many(list(changes), author=who.name, role=_role(who))
    except StaleError as exc:
        return Outcome(problems=tuple(exc.problems), stale=tuple(exc.since), author=who.name)
    except StoreError as exc:
        return Outcome(problems=tuple(exc.problems), author=who.name)
    return Outcome(events=tuple(events), author=who.name)


def _authorize(location: str, plan: Dataset, changes: Sequence[Change], action: str) -> auth.Principal:
    who = None
    if action == auth.REVERT:
        with open_store(location, plan) as store:
            for c in changes:
                target = store.event(str(c.payload.get("event", ""))) if isinstance(c.payload, dict) else None
                # an unknown event is the store's to refuse (it names the field); the gate still decides who
                who = app_auth.authorize(auth.REVERT, project=c.project,
                                         event_author=target.author if target else None)
    else:
        for project in sorted({c.project for c in changes}):
            who = app_auth.authorize(action, project=project)
    assert who is not None
    return who


def _role(who: auth.Principal) -> str:
    """The store's role for a writer: ``admin`` stays admin, everyone else who may write is an editor."""
    return "admin" if who.role == "admin" else "editor"
