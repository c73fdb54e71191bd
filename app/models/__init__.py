"""ORM tables. Importing this package registers every table on `Base.metadata`."""

from app.db.stamps import ReadModelStamp
from app.models.audit import AuditEntry
from app.models.candidates import Candidate, Client, ErasedIdentity
from app.models.events import Event
from app.models.followups import DebriefQueueEntry, FollowUp, Setting
from app.models.imports import ImportJob
from app.models.integration import (
    IdempotencyRecord,
    IdempotencySubject,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from app.models.interviews import Debrief, EmployerFeedback, Interview
from app.models.links import DebriefLink, EmployerLink
from app.models.notifications import (
    DigestDay,
    Notification,
    NotificationAttempt,
    NotificationSubject,
    Suppression,
)
from app.models.staff import ApiKey, BoardSession, Staff

__all__ = [
    "ApiKey",
    "AuditEntry",
    "BoardSession",
    "Candidate",
    "Client",
    "Debrief",
    "DebriefLink",
    "DebriefQueueEntry",
    "DigestDay",
    "EmployerFeedback",
    "EmployerLink",
    "ErasedIdentity",
    "Event",
    "FollowUp",
    "IdempotencyRecord",
    "IdempotencySubject",
    "ImportJob",
    "Interview",
    "Notification",
    "NotificationAttempt",
    "NotificationSubject",
    "ReadModelStamp",
    "Setting",
    "Staff",
    "Suppression",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
]
