"""Full-text search over the folded name and description, one interface, two engines.

SQLite: the FTS5 table `procedure_fts` (rowid = procedure.id). PostgreSQL: generated
tsvector columns (`name_tsv`, `search_tsv`) with a partial GIN index. Every word must
match a whole word, except the last, which also matches as a prefix ("khai si" finds
"khai sinh"). Ranking, the same on both: procedures whose name holds every word first,
then the others; within a tier the shorter (tighter) name first, then the code. A
length is read from the row, where bm25/ts_rank would score every match: at 100k
procedures that is what keeps a broad query within its latency budget.
Both rank in two tiers first: procedures whose name holds every word, then the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import (
    ColumnElement,
    Select,
    case,
    column,
    delete,
    func,
    insert,
    literal,
    literal_column,
    select,
    table,
)
from sqlalchemy.orm import Session

from services.catalog.models import Procedure

_FTS = table(
    "procedure_fts",
    column("rowid"),
    column("name"),
    column("description"),
    column("code"),
    column("province"),
)
_FTS_TABLE: ColumnElement[Any] = literal_column("procedure_fts")


@dataclass(frozen=True)
class Ranked:
    """A search's contribution to a statement: how to restrict it and how to order it."""

    statement: Select[Any]
    order_by: list[ColumnElement[Any]]


class SearchIndex(Protocol):
    """What the catalogue needs from a search engine."""

    def index(self, session: Session, procedure: Procedure, description: str) -> None:
        """Make the procedure findable by its (already folded) name and description."""

    def unindex(self, session: Session, procedure_id: int) -> None:
        """Forget the procedure."""

    def match(self, statement: Select[Any], words: list[str]) -> Ranked:
        """Restrict `statement` (over Procedure) to rows holding every word; the last word
        may be the beginning of a word (the citizen may still be typing it)."""

    def words_only(
        self, session: Session, words: list[str], limit: int, offset: int
    ) -> tuple[int, list[int]] | None:
        """(total, ids of one page) for a search without filters, answered from the index
        alone, ranked as match() ranks; None when the engine has no such shortcut."""


class SqliteSearch:
    """FTS5; the index rows are written by the catalogue in the same transaction."""

    def index(self, session: Session, procedure: Procedure, description: str) -> None:
        self.unindex(session, procedure.id)
        session.execute(
            insert(_FTS).values(
                rowid=procedure.id,
                name=procedure.name_folded,
                description=description,
                code=procedure.code,
                province=procedure.province,
            )
        )

    def unindex(self, session: Session, procedure_id: int) -> None:
        session.execute(delete(_FTS).where(_FTS.c.rowid == procedure_id))

    @staticmethod
    def _queries(words: list[str]) -> tuple[str, str]:
        terms = [f'"{w}"' for w in words[:-1]] + [f'"{words[-1]}"*']
        return " AND ".join(terms), " AND ".join(f"name : {t}" for t in terms)

    def words_only(
        self, session: Session, words: list[str], limit: int, offset: int
    ) -> tuple[int, list[int]] | None:
        # Withdrawn procedures are unindexed, so the index alone answers: no row lookups.
        everywhere, in_name = self._queries(words)
        matching = _FTS_TABLE.op("MATCH")(literal(everywhere))
        name_hits = select(_FTS.c.rowid).where(_FTS_TABLE.op("MATCH")(literal(in_name)))
        total = session.scalar(select(func.count()).select_from(_FTS).where(matching)) or 0
        ids = session.scalars(
            select(_FTS.c.rowid)
            .where(matching)
            .order_by(
                case((_FTS.c.rowid.in_(name_hits), 0), else_=1),
                func.length(_FTS.c.name),
                _FTS.c.code,
                _FTS.c.province,
            )
            .limit(limit)
            .offset(offset)
        )
        return int(total), [int(i) for i in ids]

    def match(self, statement: Select[Any], words: list[str]) -> Ranked:
        everywhere, in_name = self._queries(words)
        name_hits = select(_FTS.c.rowid).where(_FTS_TABLE.op("MATCH")(literal(in_name)))
        tier = case((Procedure.id.in_(name_hits), 0), else_=1)
        restricted = statement.join(_FTS, _FTS.c.rowid == Procedure.id).where(
            _FTS_TABLE.op("MATCH")(literal(everywhere))
        )
        return Ranked(restricted, [tier, func.length(Procedure.name_folded)])


class PostgresSearch:
    """Generated tsvector columns: nothing to write besides the procedure row itself."""

    def index(self, session: Session, procedure: Procedure, description: str) -> None:
        return None

    def unindex(self, session: Session, procedure_id: int) -> None:
        return None

    def words_only(
        self, session: Session, words: list[str], limit: int, offset: int
    ) -> tuple[int, list[int]] | None:
        return None

    def match(self, statement: Select[Any], words: list[str]) -> Ranked:
        terms = [*words[:-1], f"{words[-1]}:*"]
        query = func.to_tsquery(literal_column("'simple'::regconfig"), literal(" & ".join(terms)))
        search_tsv: ColumnElement[Any] = literal_column("procedure.search_tsv")
        name_tsv: ColumnElement[Any] = literal_column("procedure.name_tsv")
        tier = case((name_tsv.op("@@")(query), 0), else_=1)
        return Ranked(
            statement.where(search_tsv.op("@@")(query)),
            [tier, func.length(Procedure.name_folded)],
        )


def search_index_for(session: Session) -> SearchIndex:
    """The engine matching the session's database."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        return PostgresSearch()
    return SqliteSearch()
