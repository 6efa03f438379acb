"""The database's side of the lists' one search rule
(:func:`lottrack.kernel.inputs.search_needle`): a search needle has neither spaces nor
dashes, so the columns it is compared with lose their dashes too."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BindParameter, ColumnElement, String, and_, bindparam, func, literal_column

from lottrack.kernel.inputs import like_pattern, like_scattered


def _undashed(column: Any) -> ColumnElement[str]:
    """``column`` without its ``-``, to be compared with a search needle. ASCII ``-`` is the
    only dash stored in what is searched: subject codes (``TLS-003``) and lot numbers
    (``L-`` and the DIN) are checked on the way in; DINs and initials hold none."""
    return func.replace(column, literal_column("'-'"), literal_column("''"))


def undashed_contains(column: Any, pattern: Any, scattered: Any) -> ColumnElement[bool]:
    """True where ``column`` without its dashes contains the needle of ``pattern``
    (:func:`~lottrack.kernel.inputs.like_pattern`) and ``scattered``
    (:func:`~lottrack.kernel.inputs.like_scattered`, the needle's characters in order).

    The scattered test comes first: most rows fail it as cheaply as a plain ``LIKE``,
    before their dashes are removed (``replace()`` on every row of 12 000 lots made a
    search of them about half as slow again, bench/bench_lists.py)."""
    return and_(column.like(scattered, escape="\\"), _undashed(column).like(pattern, escape="\\"))


def needle_params(needle: str) -> tuple[BindParameter[str], BindParameter[str]]:
    """The ``pattern`` and ``scattered`` parameters of :func:`undashed_contains` for a
    search ``needle`` (:func:`~lottrack.kernel.inputs.search_needle`)."""
    return (
        bindparam("pattern", like_pattern(needle), type_=String()),
        bindparam("scattered", like_scattered(needle), type_=String()),
    )
