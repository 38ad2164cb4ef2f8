"""Unit of work: one transaction, rolled back unless `commit()` is called."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.orm import sessionmaker
from sqlmodel import Session


class UnitOfWork:
    session: Session

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._session_factory = session_factory

    def __enter__(self) -> UnitOfWork:
        self.session = self._session_factory()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Detach first so objects read here stay readable after the block (rollback would
        # expire them); anything not committed is discarded by the rollback.
        self.session.expunge_all()
        self.session.rollback()
        self.session.close()

    def commit(self) -> None:
        self.session.commit()
