"""Every table of the system, on one declarative Base."""

from shared.models.auth import USER_ROLES, ApiToken, ApiUser
from shared.models.backups import BackupLog, BackupSchedule, RestoreLog
from shared.models.base import Base, TimestampMixin, new_id, utcnow
from shared.models.idempotency import RequestIdempotency
from shared.models.insights import (
    Client,
    CommandCheck,
    EnvironmentalExample,
    EnvironmentalInsight,
    FailureOccurrence,
    FailurePattern,
    Infrastructure,
    InsightEvent,
    LearningMetric,
    Tag,
    WorkItem,
    WorkSession,
    infrastructure_tags,
    work_item_tags,
)
from shared.models.integrations import (
    CredentialAccessLog,
    ExternalIntegration,
    IntegrationCredential,
)
from shared.models.msp360 import Msp360Mapping, Msp360Plan, Msp360Problem
from shared.models.tickets import TicketLink, WebhookDelivery
from shared.models.zapier import ZapierCursor, ZapierDelivery, ZapierSample, ZapierSubscription

__all__ = [
    "USER_ROLES",
    "ApiToken",
    "ApiUser",
    "BackupLog",
    "BackupSchedule",
    "Base",
    "Client",
    "CommandCheck",
    "CredentialAccessLog",
    "EnvironmentalExample",
    "EnvironmentalInsight",
    "ExternalIntegration",
    "FailureOccurrence",
    "FailurePattern",
    "Infrastructure",
    "InsightEvent",
    "IntegrationCredential",
    "LearningMetric",
    "Msp360Mapping",
    "Msp360Plan",
    "Msp360Problem",
    "RequestIdempotency",
    "RestoreLog",
    "Tag",
    "TicketLink",
    "TimestampMixin",
    "WebhookDelivery",
    "WorkItem",
    "WorkSession",
    "ZapierCursor",
    "ZapierDelivery",
    "ZapierSample",
    "ZapierSubscription",
    "infrastructure_tags",
    "new_id",
    "utcnow",
    "work_item_tags",
]
