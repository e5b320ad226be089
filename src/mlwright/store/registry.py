"""Repository functions for the model registry's rows: registered names, numbered versions, aliases and the
history of every alias change.  Each write is one transaction (see :meth:`mlwright.store.Store.write`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from mlwright.errors import RegistryError
from mlwright.store import Store, utcnow
from mlwright.store.tables import alias_history, aliases, registered, versions

__all__ = [
    "add_version",
    "alias_changes",
    "archive_version",
    "model_names",
    "model_summaries",
    "point_alias",
    "roll_back_alias",
    "version_at_path",
    "version_rows",
    "versions_of_run",
]


def version_at_path(store: Store, path: str) -> int | None:
    """The version number recorded for an artifact folder (relative to the registry root), if any."""
    row = store.read(lambda c: c.execute(select(versions.c.version).where(versions.c.path == path)).first())
    return None if row is None else int(row[0])


def add_version(
    store: Store, name: str, values: dict[str, Any], description: str | None = None, alias: str | None = None
) -> int:
    """Record the next version of ``name`` (registering the name on first use) with ``values`` (the
    ``versions`` columns besides name, number and time); point ``alias`` at it.  Returns its number."""

    def insert(conn: Any) -> int:
        if conn.execute(select(registered.c.name).where(registered.c.name == name)).first() is None:
            conn.execute(registered.insert().values(name=name, created=utcnow(), description=description))
        top = conn.execute(select(func.max(versions.c.version)).where(versions.c.name == name)).scalar()
        number = int(top or 0) + 1
        conn.execute(versions.insert().values(name=name, version=number, created=utcnow(), **values))
        if alias is not None:
            _point(conn, name, alias, number, "set")
        return number

    return store.write(insert)


def _point(conn: Any, name: str, alias: str, version: int, action: str) -> None:
    row = conn.execute(select(aliases.c.version).where(aliases.c.name == name, aliases.c.alias == alias)).first()
    previous = row[0] if row else None
    if row is None:
        conn.execute(aliases.insert().values(name=name, alias=alias, version=version, updated=utcnow()))
    else:
        conn.execute(
            aliases.update()
            .where(aliases.c.name == name, aliases.c.alias == alias)
            .values(version=version, updated=utcnow())
        )
    conn.execute(
        alias_history.insert().values(
            name=name, alias=alias, version=version, previous=previous, at=utcnow(), action=action
        )
    )


def point_alias(store: Store, name: str, alias: str, version: int) -> None:
    """Point ``name@alias`` at ``version`` and record the change."""
    store.write(lambda conn: _point(conn, name, alias, version, "set"))


def roll_back_alias(store: Store, name: str, alias: str) -> int:
    """Point ``alias`` back at the ready version it held before the current one; returns that version.

    Raises
    ------
    RegistryError
        The alias was never set, or no earlier ready version held it.
    """

    def undo(conn: Any) -> int:
        rows = conn.execute(
            select(alias_history.c.version, alias_history.c.action)
            .where(alias_history.c.name == name, alias_history.c.alias == alias)
            .order_by(alias_history.c.id)
        ).all()
        stack: list[int] = []
        for version, action in rows:
            if action == "set":
                stack.append(version)
            elif action == "rollback" and stack:
                stack.pop()
        if not stack:
            raise RegistryError(f"{name}@{alias} has never been set: nothing to roll back")
        ready_q = select(versions.c.version).where(versions.c.name == name, versions.c.status == "ready")
        ready = {r[0] for r in conn.execute(ready_q)}
        current = stack.pop()
        while stack and stack[-1] not in ready:
            stack.pop()
        if not stack:
            raise RegistryError(
                f"{name}@{alias} is version {current} and no earlier ready version held it: nothing to roll back to"
            )
        _point(conn, name, alias, stack[-1], "rollback")  # records the current one as previous
        return stack[-1]

    return store.write(undo)


def archive_version(store: Store, name: str, version: int) -> None:
    """Mark a version archived."""
    q = versions.update().where(versions.c.name == name, versions.c.version == version).values(status="archived")
    store.write(lambda conn: conn.execute(q))


def model_names(store: Store) -> list[str]:
    """Every registered model name."""
    return store.read(lambda conn: [r[0] for r in conn.execute(select(registered.c.name))])


def version_rows(store: Store, name: str) -> list[tuple[Any, list[str]]]:
    """Every version row of ``name`` (newest first) with the aliases pointing at it (sorted)."""

    def q(conn: Any) -> list[tuple[Any, list[str]]]:
        al: dict[int, list[str]] = {}
        for a in conn.execute(select(aliases.c.alias, aliases.c.version).where(aliases.c.name == name)):
            al.setdefault(a.version, []).append(a.alias)
        rows = conn.execute(select(versions).where(versions.c.name == name).order_by(versions.c.version.desc()))
        return [(r, sorted(al.get(r.version, []))) for r in rows]

    return store.read(q)


def model_summaries(store: Store) -> list[dict[str, Any]]:
    """Each registered model: name, number of versions, latest version, aliases, creation time."""

    def q(conn: Any) -> list[dict[str, Any]]:
        out = []
        for m in conn.execute(select(registered).order_by(registered.c.name)):
            count_q = select(func.count(), func.max(versions.c.version)).where(versions.c.name == m.name)
            vs = conn.execute(count_q).one()
            al_q = select(aliases.c.alias, aliases.c.version).where(aliases.c.name == m.name)
            al = {a.alias: a.version for a in conn.execute(al_q)}
            out.append({"name": m.name, "versions": vs[0], "latest": vs[1], "aliases": al,
                        "created": m.created.isoformat() if m.created else None})  # fmt: skip
        return out

    return store.read(q)


def alias_changes(store: Store, name: str, limit: int = 30) -> list[dict[str, Any]]:
    """The newest alias changes of ``name`` (every ``alias_history`` column), newest first."""
    h = alias_history
    q = select(h).where(h.c.name == name).order_by(h.c.id.desc()).limit(limit)
    return store.read(lambda conn: [dict(r._mapping) for r in conn.execute(q)])


def versions_of_run(store: Store, run_id: str) -> list[dict[str, Any]]:
    """``{"name", "version"}`` of every registered version made from the run ``run_id``."""
    q = select(versions.c.name, versions.c.version).where(versions.c.run_id == run_id)
    return store.read(lambda conn: [{"name": r.name, "version": r.version} for r in conn.execute(q)])
