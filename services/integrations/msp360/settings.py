"""Settings of MSP360 monitoring: which PSA its tickets go to and how a ticket is closed."""

from __future__ import annotations

from shared.config import Setting
from shared.models.tickets import TICKET_SYSTEMS

AUTO, NO_TICKETS = "auto", "none"
DEFAULT_CLOSED = {"syncro": "Resolved", "autotask": "5", "connectwise": "Closed"}


def parse_ticket_psa(raw: str) -> str:
    """`auto` (the one PSA with an active credential), `none`, or a PSA name."""
    value = raw.strip().lower()
    if value not in (AUTO, NO_TICKETS, *TICKET_SYSTEMS):
        raise ValueError(f"expected auto, none or one of {', '.join(TICKET_SYSTEMS)}")
    return value


def parse_closed_statuses(raw: str) -> dict[str, str]:
    """`syncro=Resolved,autotask=5` -> the status each PSA's closed tickets get."""
    closed = dict(DEFAULT_CLOSED)
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        kind, sep, status = (piece.strip() for piece in item.partition("="))
        if not sep or kind not in TICKET_SYSTEMS or not status or len(status) > 100:
            raise ValueError("expected psa=status pairs, e.g. syncro=Resolved,autotask=5")
        if kind == "autotask" and not status.isdigit():
            raise ValueError("an Autotask status is its picklist number, e.g. autotask=5")
        closed[kind] = status
    return closed


MSP360_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "MSP360_TICKET_PSA",
        parse_ticket_psa,
        AUTO,
        "PSA that MSP360 backup problems open tickets in: auto (the one with an active "
        "credential), none, syncro, autotask or connectwise",
    ),
    Setting(
        "MSP360_CLOSED_STATUSES",
        parse_closed_statuses,
        dict(DEFAULT_CLOSED),
        "status a ticket gets when its backup plan succeeds again, per PSA: "
        "syncro=Resolved,autotask=5,connectwise=Closed",
    ),
)
