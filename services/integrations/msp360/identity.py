"""How MSP360 names become stable keys: a plan across syncs, a company or computer mapping."""

from __future__ import annotations

import hashlib

from services.integrations.adapters.msp360 import MonitoredPlan


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()


def fold(name: str) -> str:
    """A name as it is compared: case-folded (MSP360 and the inventory disagree on case)."""
    return name.casefold()


def plan_key(plan: MonitoredPlan) -> str:
    """One plan of one backup user on one computer."""
    return _digest(plan.user_id, fold(plan.computer_name), fold(plan.plan_name))


def company_key(company: str) -> str:
    """The mapping row of an MSP360 company."""
    return _digest("company", fold(company), "")


def computer_key(company: str, computer: str) -> str:
    """The mapping row of a computer (computer names repeat across companies)."""
    return _digest("computer", fold(company), fold(computer))


def short_host(name: str) -> str:
    """`SRV01.corp.local` -> `srv01`: MSP360 may report the FQDN where the inventory has not."""
    return fold(name).split(".", 1)[0]
