"""MSP360 companies -> clients (and their PSA company), computers -> hosts: matched by name,
corrected by the operator (an operator's mapping is never overwritten by a sync)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.integrations.adapters.msp360 import MonitoredPlan, clean_text
from services.integrations.msp360.identity import company_key, computer_key, fold
from shared.errors import DomainError
from shared.models import utcnow
from shared.models.msp360 import Msp360Mapping, Msp360Plan
from shared.pagination import Page, keyset_page
from shared.tenancy import Owned, require_same_client

# Name lookups in insights per sync, at most: a first sync of a large account matches the
# rest on the following runs instead of holding one request for minutes.
MAX_LOOKUPS_PER_SYNC = 300


class Directory(Protocol):
    """Where clients and hosts are looked up (the insights service)."""

    def client_named(self, name: str) -> str | None: ...

    def host_named(self, client_id: str, computer: str) -> str | None: ...

    def check_client(self, client_id: str) -> None: ...

    def client_of_host(self, host_id: str) -> str: ...


@dataclass(frozen=True)
class Placement:
    """Where a plan belongs here: its client, host and the PSA company of its tickets."""

    client_id: str | None
    infrastructure_id: str | None
    psa_type: str | None
    psa_company_id: str | None


@dataclass
class _Lookups:
    """The name lookups a sync may still make; insights being down ends them (the states,
    events and tickets of the sync go on, and the next sync matches what is left)."""

    directory: Directory
    errors: list[str]
    left: int = MAX_LOOKUPS_PER_SYNC

    def client_named(self, name: str) -> str | None:
        return self._ask(lambda: self.directory.client_named(name))

    def host_named(self, client_id: str, computer: str) -> str | None:
        return self._ask(lambda: self.directory.host_named(client_id, computer))

    def _ask(self, lookup: Callable[[], str | None]) -> str | None:
        if self.left <= 0:
            return None
        self.left -= 1
        try:
            return lookup()
        except DomainError as exc:
            self.left = 0
            self.errors.append(f"matching names in insights stopped: {exc.detail}"[:500])
            return None


def place_plans(
    *,
    session: Session,
    plans: Iterable[MonitoredPlan],
    directory: Directory,
    errors: list[str] | None = None,
) -> dict[tuple[str, str], Placement]:
    """(company, computer) folded -> Placement, creating and auto-matching mapping rows;
    a lookup that failed is told in `errors`."""
    lookups = _Lookups(directory, errors if errors is not None else [])
    names = _names(plans)
    known = _preload(session, names)
    placements = {}
    for company, computers in names.items():
        company_row = _mapping(session, known, "company", company, "", lookups)
        for computer in computers:
            row = _mapping(
                session, known, "computer", company, computer, lookups, company_row.client_id
            )
            placements[(fold(company), fold(computer))] = Placement(
                client_id=row.client_id or company_row.client_id,
                infrastructure_id=row.infrastructure_id,
                psa_type=company_row.psa_type,
                psa_company_id=company_row.psa_company_id,
            )
        if session.new or any(session.is_modified(row) for row in session.dirty):
            session.commit()  # a company at a time: no row stays locked across many lookups
    _mark_seen(session, list(known))
    return placements


def _chunks(keys: list[str], size: int = 500) -> Iterable[list[str]]:
    return (keys[start : start + size] for start in range(0, len(keys), size))


def _preload(session: Session, names: Mapping[str, list[str]]) -> dict[str, Msp360Mapping]:
    """Every mapping row the sync will read, in a few queries instead of one per name."""
    keys = [company_key(company) for company in names]
    keys += [computer_key(c, computer) for c, computers in names.items() for computer in computers]
    known: dict[str, Msp360Mapping] = {}
    for chunk in _chunks(keys):
        query = select(Msp360Mapping).where(Msp360Mapping.name_key.in_(chunk))
        known.update({row.name_key: row for row in session.scalars(query)})
    return known


def _mark_seen(session: Session, keys: list[str]) -> None:
    now = utcnow()
    for chunk in _chunks(keys):
        session.execute(
            update(Msp360Mapping)
            .where(Msp360Mapping.name_key.in_(chunk))
            .values(last_seen_at=now)
            .execution_options(synchronize_session=False)
        )
    session.commit()


def _names(plans: Iterable[MonitoredPlan]) -> dict[str, list[str]]:
    names: dict[str, dict[str, str]] = {}
    for plan in plans:
        names.setdefault(plan.company_name, {}).setdefault(
            fold(plan.computer_name), plan.computer_name
        )
    return {company: list(computers.values()) for company, computers in names.items()}


def _key(kind: str, company: str, computer: str) -> str:
    return company_key(company) if kind == "company" else computer_key(company, computer)


def _mapping(
    session: Session,
    known: dict[str, Msp360Mapping],
    kind: str,
    company: str,
    computer: str,
    lookups: _Lookups,
    client_id: str | None = None,
) -> Msp360Mapping:
    key = _key(kind, company, computer)
    row = known.get(key)
    if row is None:
        row = known[key] = _insert(session, kind, key, company, computer)
    if row.source == "auto":
        _auto_match(row, lookups, client_id)
    return row


def _insert(session: Session, kind: str, key: str, company: str, computer: str) -> Msp360Mapping:
    row = Msp360Mapping(
        kind=kind, name_key=key, company_name=company, computer_name=computer, source="auto"
    )
    try:
        with session.begin_nested():  # another sync may be adding the same name right now
            session.add(row)
    except IntegrityError:
        found = session.scalars(select(Msp360Mapping).where(Msp360Mapping.name_key == key)).one()
        return found
    return row


def _auto_match(row: Msp360Mapping, lookups: _Lookups, client_id: str | None) -> None:
    if row.kind == "company" and row.client_id is None:
        row.client_id = lookups.client_named(row.company_name)
    if row.kind == "computer" and client_id and row.client_id != client_id:
        row.client_id, row.infrastructure_id = client_id, None  # the company moved: match again
    if row.kind == "computer" and client_id and row.infrastructure_id is None:
        row.infrastructure_id = lookups.host_named(client_id, row.computer_name)


def list_mappings(
    *,
    session: Session,
    kind: str | None = None,
    unmapped: bool | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[Msp360Mapping]:
    """Mappings by company then computer name; `unmapped` keeps those without a target."""
    query = select(Msp360Mapping)
    if kind:
        query = query.where(Msp360Mapping.kind == kind)
    if unmapped is not None:
        missing = ((Msp360Mapping.kind == "company") & Msp360Mapping.client_id.is_(None)) | (
            (Msp360Mapping.kind == "computer") & Msp360Mapping.infrastructure_id.is_(None)
        )
        query = query.where(missing if unmapped else ~missing)
    return keyset_page(
        session=session,
        query=query,
        sort=Msp360Mapping.company_name,
        tiebreak=Msp360Mapping.id,
        cursor=cursor,
        limit=limit,
    )


def set_company_mapping(
    *, session: Session, directory: Directory, data: Mapping[str, Any]
) -> Msp360Mapping:
    """The operator's client (and PSA company) for an MSP360 company, checked against
    insights; its plans move at once. A null client_id unmaps it. 422 while one of its
    computers is mapped by the operator to a host of another client."""
    client_id = data.get("client_id")
    if client_id:
        directory.check_client(client_id)
    row = _operator_row(session, "company", clean_text(data["company_name"]), "")
    row.client_id, row.infrastructure_id = client_id, None
    row.psa_type, row.psa_company_id = data.get("psa_type"), data.get("psa_company_id")
    moved = _computers_elsewhere(session, row)
    for computer in moved:
        if computer.source == "operator":
            host = Owned("host", computer.infrastructure_id, computer.client_id)
            _refuse_crossing("client_id", row, host)
        computer.client_id, computer.infrastructure_id = client_id, None  # matched again
    for mapping in (row, *moved):
        _move_plans(session, mapping)
    session.commit()
    return row


def set_computer_mapping(
    *, session: Session, directory: Directory, data: Mapping[str, Any]
) -> Msp360Mapping:
    """The operator's host for an MSP360 computer, checked against insights: 422 unless the
    host is of the client its company maps to. Its plans move at once. A null
    infrastructure_id unmaps it."""
    host_id = data.get("infrastructure_id")
    company, computer = clean_text(data["company_name"]), clean_text(data["computer_name"])
    client_id = None
    if host_id:
        client_id = directory.client_of_host(host_id)
        owner = _locked(session, company_key(company)) or Msp360Mapping(company_name=company)
        _refuse_crossing("infrastructure_id", owner, Owned("host", host_id, client_id))
    row = _operator_row(session, "computer", company, computer)
    row.client_id, row.infrastructure_id = client_id, host_id
    _move_plans(session, row)
    session.commit()
    return row


def _refuse_crossing(field: str, company: Msp360Mapping, host: Owned) -> None:
    """The tenant rule: a computer's host belongs to the client of the computer's company."""
    owner = Owned(f"MSP360 company {company.company_name!r}", company.id, company.client_id)
    require_same_client(field, owner, host)


def _computers_elsewhere(session: Session, company: Msp360Mapping) -> list[Msp360Mapping]:
    """The company's computers mapped to a host of another client than the company's."""
    return list(
        session.scalars(
            select(Msp360Mapping)
            .where(
                Msp360Mapping.kind == "computer",
                Msp360Mapping.company_name == company.company_name,
                Msp360Mapping.infrastructure_id.is_not(None),
                Msp360Mapping.client_id != company.client_id
                if company.client_id
                else Msp360Mapping.client_id.is_not(None),
            )
            .with_for_update()
        )
    )


def _locked(session: Session, key: str) -> Msp360Mapping | None:
    return session.scalars(
        select(Msp360Mapping).where(Msp360Mapping.name_key == key).with_for_update()
    ).first()


def _operator_row(session: Session, kind: str, company: str, computer: str) -> Msp360Mapping:
    key = _key(kind, company, computer)
    row = _locked(session, key) or _insert(session, kind, key, company, computer)
    row.source = "operator"
    return row


def _move_plans(session: Session, row: Msp360Mapping) -> None:
    plans = update(Msp360Plan).where(Msp360Plan.company_name == row.company_name)
    if row.kind == "computer":
        plans = plans.where(Msp360Plan.computer_name == row.computer_name)
        session.execute(
            plans.values(client_id=row.client_id, infrastructure_id=row.infrastructure_id)
        )
    else:
        session.execute(plans.values(client_id=row.client_id))


def unmapped_counts(session: Session) -> tuple[int, int]:
    """How many companies have no client, and how many computers no host."""
    rows = session.execute(
        select(Msp360Mapping.kind, func.count())
        .where(
            ((Msp360Mapping.kind == "company") & Msp360Mapping.client_id.is_(None))
            | ((Msp360Mapping.kind == "computer") & Msp360Mapping.infrastructure_id.is_(None))
        )
        .group_by(Msp360Mapping.kind)
    )
    counts = {kind: int(count) for kind, count in rows}
    session.rollback()
    return counts.get("company", 0), counts.get("computer", 0)


def company_mapping(session: Session, company: str) -> Msp360Mapping | None:
    """The mapping row of an MSP360 company, if a sync or the operator made one."""
    key = company_key(company)
    return session.scalars(select(Msp360Mapping).where(Msp360Mapping.name_key == key)).first()
