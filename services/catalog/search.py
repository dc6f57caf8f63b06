"""Full-text search over the folded name and description, one interface, two engines.

SQLite: the FTS5 table `procedure_fts` (rowid = procedure.id), prefix queries, bm25 with
the name weighted above the description. PostgreSQL: generated tsvector columns
(`name_tsv`, `search_tsv` weighted A/B) with a GIN index, prefix tsqueries and ts_rank.
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

_FTS = table("procedure_fts", column("rowid"), column("name"), column("description"))
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
        """Restrict `statement` (over Procedure) to rows holding every word as a prefix."""


class SqliteSearch:
    """FTS5; the index rows are written by the catalogue in the same transaction."""

    def index(self, session: Session, procedure: Procedure, description: str) -> None:
        self.unindex(session, procedure.id)
        session.execute(
            insert(_FTS).values(
                rowid=procedure.id, name=procedure.name_folded, description=description
            )
        )

    def unindex(self, session: Session, procedure_id: int) -> None:
        session.execute(delete(_FTS).where(_FTS.c.rowid == procedure_id))

    def match(self, statement: Select[Any], words: list[str]) -> Ranked:
        everywhere = " AND ".join(f'"{w}"*' for w in words)
        in_name = " AND ".join(f'name : "{w}"*' for w in words)
        name_hits = select(_FTS.c.rowid).where(_FTS_TABLE.op("MATCH")(literal(in_name)))
        tier = case((Procedure.id.in_(name_hits), 0), else_=1)
        restricted = statement.join(_FTS, _FTS.c.rowid == Procedure.id).where(
            _FTS_TABLE.op("MATCH")(literal(everywhere))
        )
        rank = func.bm25(_FTS_TABLE, 10.0, 1.0)
        return Ranked(restricted, [tier, rank])


class PostgresSearch:
    """Generated tsvector columns: nothing to write besides the procedure row itself."""

    def index(self, session: Session, procedure: Procedure, description: str) -> None:
        return None

    def unindex(self, session: Session, procedure_id: int) -> None:
        return None

    def match(self, statement: Select[Any], words: list[str]) -> Ranked:
        query = func.to_tsquery(
            literal_column("'simple'::regconfig"), literal(" & ".join(f"{w}:*" for w in words))
        )
        search_tsv: ColumnElement[Any] = literal_column("procedure.search_tsv")
        name_tsv: ColumnElement[Any] = literal_column("procedure.name_tsv")
        tier = case((name_tsv.op("@@")(query), 0), else_=1)
        # Normalisation 2 divides by the document length: the tighter name wins.
        name_rank = func.ts_rank(name_tsv, query, 2).desc()
        rank = func.ts_rank(search_tsv, query, 2).desc()
        return Ranked(statement.where(search_tsv.op("@@")(query)), [tier, name_rank, rank])


def search_index_for(session: Session) -> SearchIndex:
    """The engine matching the session's database."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        return PostgresSearch()
    return SqliteSearch()
