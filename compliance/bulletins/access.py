"""Who reads and who issues bulletins.

A bulletin is the city's document, circulated to every district: everyone who works the case
workflow (``view_cases``: bureau staff, district operators and leaders, field officers) reads it
whole — every district's figures, since a district sees where it stands among the others, as a
circulated bulletin shows. Enterprise officers do not read it in the portal: it names other
enterprises' vehicles, and the platform shows an enterprise only its own (their district
forwards what concerns them). Issuing one is a bureau supervisory act: bureau users who may
supervise cases (督办) — supervisors and administrators.
"""

from __future__ import annotations

from typing import Any

from accounts.roles import Capability


def may_read(user: Any) -> bool:
    return bool(user is not None and user.is_authenticated and user.can(Capability.VIEW_CASES))


def may_publish(user: Any) -> bool:
    return bool(user is not None and user.is_authenticated and user.scope.everything
                and user.can(Capability.SUPERVISE_CASES))
