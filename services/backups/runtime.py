"""What a backup job needs at run time: the source database, storages, notifier, sessions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from services.backups.adapters.kubernetes_jobs import InClusterApi, KubernetesJobs
from services.backups.adapters.mariadb_client import MariaDBTarget
from services.backups.adapters.storage import LocalStorage, Storage
from services.backups.leases import LeaseKeeper
from services.backups.notice_outbox import NoticeOutbox, RetryPolicy
from services.backups.notify import IntegrationsNotifier
from shared.client import ServiceClient
from shared.errors import ValidationFailed
from shared.redaction import REDACTED, redact_text

# BACKUP_STALE_UPLOAD_HOURS' default: a multipart upload this old is no running backup's.
STALE_UPLOAD_AFTER = timedelta(hours=24)


@dataclass
class BackupRuntime:
    """Built once per app (or CLI run) from the settings."""

    source_url: str
    folder: Path
    default_storage: str
    default_compression: str
    session_factory: sessionmaker[Session]
    # The outbox of failure, warning and verified notices (None: BACKUP_NOTIFY_FAILURES is off).
    notifier: NoticeOutbox | None = None
    s3_options: dict[str, Any] = field(default_factory=dict)
    progress_interval: float = 1.0
    database_url: str = ""
    levels: dict[str, int] = field(default_factory=lambda: {"zstd": 1, "gzip": 6})
    heartbeat_seconds: float = 5.0
    # How long a failed or finished job retries its final status while the database is down.
    final_write_seconds: float = 120.0
    # "thread" (this process runs the job) or "kubernetes-job" (a Job of its own does).
    runner: str = "thread"
    job_template: dict[str, Any] | None = None
    job_start_seconds: float = 300.0
    serviceaccount_dir: str = "/var/run/secrets/kubernetes.io/serviceaccount"
    # A multipart upload older than this, of no running backup, is aborted by the sweep.
    stale_upload_after: timedelta = STALE_UPLOAD_AFTER
    leases: LeaseKeeper = field(init=False, repr=False)
    _s3: Storage | None = field(default=None, init=False, repr=False)
    _kubernetes: KubernetesJobs | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.leases = LeaseKeeper(self.session_factory, self.heartbeat_seconds)

    def queued_lease_expiry(self) -> datetime:
        """Until when a new queued row is safe from the sweep.

        A thread's lease is renewed by this process from the start; a Kubernetes Job's pod
        must first be scheduled and started, so its row waits longer, unrenewed, for the claim.
        """
        if self.runner == "kubernetes-job":
            return datetime.now(UTC) + timedelta(seconds=self.job_start_seconds)
        return self.leases.expiry()

    def kubernetes_jobs(self) -> KubernetesJobs:
        """The Kubernetes API of the pod this process runs in (JobNotCreated outside one)."""
        if self._kubernetes is None:
            api = InClusterApi.from_environment(self.serviceaccount_dir)
            self._kubernetes = KubernetesJobs(api)
        return self._kubernetes

    def level(self, codec: str) -> int | None:
        """The configured level of `codec` (None: the codec's own default)."""
        return self.levels.get(codec)

    @property
    def is_sqlite(self) -> bool:
        """True for the embedded default (SQLite file)."""
        return make_url(self.source_url).get_backend_name() == "sqlite"

    @property
    def source_host(self) -> str:
        """Host name of the source for backup_log.database_host."""
        return make_url(self.source_url).host or "localhost"

    def live_database(self) -> str | None:
        """The database the service itself runs on (never a restore target)."""
        return make_url(self.database_url).database if self.database_url else None

    def default_database(self) -> str:
        """The database named in the source URL."""
        return make_url(self.source_url).database or ""

    def target(self, database: str | None) -> MariaDBTarget:
        """Login for the source server, pointed at `database` (default: the URL's)."""
        url = make_url(self.source_url)
        return MariaDBTarget(
            host=url.host or "127.0.0.1",
            port=url.port or 3306,
            user=url.username or "root",
            password=url.password,
            database=database or url.database or "",
        )

    def redact(self, message: str) -> str:
        """`message` fit for a row or a log: the shared secret patterns, plus the source's own
        password in whatever form a failing dump or restore shows it."""
        password = None if self.is_sqlite else make_url(self.source_url).password
        message = message.replace(password, REDACTED) if password else message
        return redact_text(message)

    def storage(self, kind: str) -> Storage:
        """The storage adapter called `kind`."""
        if kind == "local":
            return LocalStorage(self.folder)
        if not self.s3_options.get("bucket"):
            raise ValidationFailed({"storage": ["s3 storage needs BACKUP_S3_BUCKET"]})
        if self._s3 is None:
            # boto3 costs ~0.2 s to import: only backups that go to S3 pay it, not every cold
            # start. Its client is thread-safe and slow to build, so one serves every backup.
            from services.backups.adapters.s3_storage import S3Storage

            options = dict(self.s3_options)
            self._s3 = S3Storage(options.pop("bucket"), **options)
        return self._s3


def runtime_from_settings(
    settings: dict[str, Any], session_factory: sessionmaker[Session]
) -> BackupRuntime:
    """A runtime for the service app or the CLI."""
    notifier = None
    if settings.get("BACKUP_NOTIFY_FAILURES", True):
        client = ServiceClient(
            settings["INTEGRATIONS_URL"],
            settings.get("SERVICE_TOKEN"),
            name="integrations",
            connect_timeout=settings.get("HTTP_CONNECT_TIMEOUT", 2.0),
            read_timeout=settings.get("HTTP_READ_TIMEOUT", 10.0),
        )
        sender = IntegrationsNotifier(
            client, ticket_integration=settings.get("BACKUP_TICKET_INTEGRATION")
        )
        policy = RetryPolicy(
            max_attempts=settings.get("BACKUP_NOTICE_MAX_ATTEMPTS", 8),
            first_delay=settings.get("BACKUP_NOTICE_RETRY_SECONDS", 30.0),
        )
        verified = settings.get("BACKUP_NOTIFY_VERIFIED", True)
        notifier = NoticeOutbox(session_factory, sender, policy, notify_verified=verified)
    return BackupRuntime(
        source_url=settings.get("BACKUP_SOURCE_URL") or settings["DATABASE_URL"],
        database_url=settings["DATABASE_URL"],
        folder=Path(settings.get("BACKUP_FOLDER", "var/backups")),
        default_storage=settings.get("BACKUP_STORAGE", "local"),
        default_compression=settings.get("BACKUP_COMPRESSION", "zstd"),
        session_factory=session_factory,
        notifier=notifier,
        heartbeat_seconds=settings.get("BACKUP_HEARTBEAT_SECONDS", 5.0),
        runner=settings.get("BACKUP_RUNNER", "thread"),
        job_template=settings.get("BACKUP_JOB_TEMPLATE"),
        job_start_seconds=settings.get("BACKUP_JOB_START_SECONDS", 300.0),
        serviceaccount_dir=settings.get(
            "BACKUP_JOB_SERVICEACCOUNT_DIR", "/var/run/secrets/kubernetes.io/serviceaccount"
        ),
        stale_upload_after=timedelta(hours=settings.get("BACKUP_STALE_UPLOAD_HOURS", 24.0)),
        levels={
            "zstd": settings.get("BACKUP_ZSTD_LEVEL", 1),
            "gzip": settings.get("BACKUP_GZIP_LEVEL", 6),
        },
        s3_options={
            "bucket": settings.get("BACKUP_S3_BUCKET"),
            "prefix": settings.get("BACKUP_S3_PREFIX", "backups"),
            "endpoint_url": settings.get("BACKUP_S3_ENDPOINT_URL"),
            "region": settings.get("BACKUP_S3_REGION"),
        },
    )
