"""Shell completion of the names stored in the database: studies, waves, cohorts, measures.

``eval "$(_TRACKER_COMPLETE=bash_source tracker)"`` (see the README) makes
Click call these while the user presses TAB. Each reads the names through
:func:`tracker.db.listing.names` (plain SQL on a direct connection), using the
``--db`` and ``--study`` already typed, else ``TRACKER_DATABASE_URL`` and
``TRACKER_STUDY``. Without a database, or on any trouble, nothing is
completed: a prompt never shows a traceback.
"""

from __future__ import annotations

from collections.abc import Callable

import click
from click.shell_completion import CompletionItem


def _names(ctx: click.Context, kind: str) -> list[str]:
    from tracker.cli.common import db_url
    from tracker.db.listing import names

    try:
        study = None
        for c in (ctx, *_parents(ctx)):
            study = study or c.params.get("study_name")
        return names(db_url(ctx), study, kind)
    except Exception:  # never a traceback into the prompt
        return []


def _parents(ctx: click.Context):
    while ctx.parent is not None:
        ctx = ctx.parent
        yield ctx


def _items(names, ctx: click.Context) -> list[CompletionItem]:
    """Bash inserts a completion as it is, so a name with a space ("MBSR spring") would become
    several words: there it is quoted, as the user would type it. zsh and fish quote it themselves."""
    import os
    import shlex

    bash = os.environ.get("_TRACKER_COMPLETE", "").startswith("bash")
    return [CompletionItem(shlex.quote(n) if bash else n) for n in names]


def _completer(kind: str, *, extra: tuple[str, ...] = (), many: bool = False) -> Callable:
    """A ``shell_complete`` callback for names of ``kind``; ``many``: a comma-separated list,
    whose last name is completed."""

    def complete(
        ctx: click.Context, _param: click.Parameter, incomplete: str
    ) -> list[CompletionItem]:
        head, _, last = incomplete.rpartition(",") if many else ("", "", incomplete)
        prefix = f"{head}," if head else ""
        done = set(head.split(",")) if head else set()
        candidates = [*extra, *_names(ctx, kind)]
        return _items(
            [prefix + n for n in dict.fromkeys(candidates) if n.startswith(last) and n not in done],
            ctx,
        )

    complete.__name__ = f"complete_{kind}{'s' if many else ''}"
    return complete


def _instruments(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """The study's instruments, then the built-in library's (``instrument show``)."""
    try:
        from tracker.instruments.library import builtin_codes

        builtin = list(builtin_codes())
    except Exception:
        builtin = []
    names = dict.fromkeys([*_names(ctx, "instrument"), *builtin])
    return _items([n for n in names if n.startswith(incomplete)], ctx)


studies = _completer("study")
waves = _completer("wave")
cohorts = _completer("cohort")
measures = _completer("measure")
measure_lists = _completer("measure", many=True)
predictors = _completer("measure", extra=("arm",))  # mediation --x: a measure, or the arm
participants = _completer("participant")
instruments = _instruments
