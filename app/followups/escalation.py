"""Whom an overdue follow-up is escalated to: the owner's manager, else the policy's contact.

The choice is `rules.escalation_target`; this module reads what it needs (the candidate's
owner, the managers above them, the policy's contact) and says how events carry it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.followups import repository, rules
from app.followups.policy import FollowUpPolicy
from app.staff import service as staff


@dataclass(frozen=True, slots=True)
class Escalation:
    owner_id: uuid.UUID | None
    staff_id: uuid.UUID | None
    via: rules.EscalationRoute | None

    def payload(self) -> dict[str, Any]:
        """The `escalated_to` of a `follow_up.escalated` event."""
        return {
            "staff_id": str(self.staff_id) if self.staff_id else None,
            "via": self.via,
            "owner_id": str(self.owner_id) if self.owner_id else None,
        }


async def escalation_for(
    session: AsyncSession, candidate_id: uuid.UUID, *, policy: FollowUpPolicy
) -> Escalation:
    """Whom a follow-up about this candidate is escalated to now, under `policy`."""
    owner = await repository.owner_of(session, candidate_id)
    managers = await staff.managers_above(session, owner) if owner else []
    contact_id = policy.escalation_contact_id
    contact = (
        (contact_id, await staff.active_staff_exists(session, contact_id)) if contact_id else None
    )
    target = rules.escalation_target(owner_id=owner, managers=managers, contact=contact)
    if target is None:
        return Escalation(owner_id=owner, staff_id=None, via=None)
    return Escalation(owner_id=owner, staff_id=target[0], via=target[1])
