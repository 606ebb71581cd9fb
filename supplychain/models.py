"""SBOMs and their components, the OSV vulnerability database, findings, waivers and the severity policy."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

from governance.audit_base import Audited
from governance.models import Environment, Service
from releases.models import Release

RATING_CHOICES = [(r, r) for r in ("none", "low", "medium", "high", "critical")]


class Sbom(Audited):
    """A CycloneDX JSON SBOM of a release: registered with it (in the evidence digest) or attached later."""

    class Source(models.TextChoices):
        REGISTRATION = "registration", "with the registration (in the evidence digest)"
        ATTACHED = "attached", "attached later (not in the evidence digest)"

    release = models.ForeignKey(Release, on_delete=models.PROTECT, related_name="sboms")
    source = models.CharField(max_length=20, choices=Source.choices)
    spec_version = models.CharField(max_length=10)
    serial_number = models.CharField(max_length=200, blank=True)
    sha256 = models.CharField(max_length=64, help_text="sha256 of the SBOM as canonical JSON.")
    document = models.JSONField()
    component_count = models.PositiveIntegerField(default=0)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "SBOM"
        ordering = ["-received_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["release", "sha256"], name="sbom_once_per_release")]

    def __str__(self) -> str:
        return f"{self.release} SBOM ({self.get_source_display()}, {self.received_at:%Y-%m-%d %H:%M} UTC)"

    def audit_service_id(self) -> int:
        return self.release.service_id


class Component(models.Model):
    """One package in an SBOM (written with its SBOM, never changed)."""

    sbom = models.ForeignKey(Sbom, on_delete=models.CASCADE, related_name="components")
    release = models.ForeignKey(Release, on_delete=models.PROTECT, related_name="+")
    purl = models.CharField(max_length=1000, blank=True)
    name = models.CharField(max_length=500)
    version = models.CharField(max_length=200, blank=True)
    ecosystem = models.CharField(max_length=40, blank=True, help_text="OSV ecosystem (PyPI, npm, Go …).")
    package = models.CharField(max_length=500, blank=True, help_text="The name as the ecosystem normalises it.")
    hashes = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["package", "version"]
        indexes = [models.Index(fields=["ecosystem", "package", "version"])]

    def __str__(self) -> str:
        return self.purl or f"{self.name}@{self.version}"


class Advisory(models.Model):
    """An OSV record as last imported (written only by the importer; each import run is recorded)."""

    osv_id = models.CharField(max_length=100, unique=True)
    modified = models.DateTimeField()
    published = models.DateTimeField(null=True, blank=True)
    withdrawn = models.DateTimeField(null=True, blank=True)
    summary = models.TextField(blank=True)
    aliases = ArrayField(models.CharField(max_length=100), default=list, blank=True)
    severity_rating = models.CharField(max_length=10, default="unknown")
    severity_score = models.FloatField(null=True, blank=True)
    severity_vector = models.CharField(max_length=300, blank=True)
    severity_source = models.CharField(max_length=20, default="unknown")
    record = models.JSONField(help_text="The OSV record as imported.")
    imported_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "advisories"
        ordering = ["-modified"]

    def __str__(self) -> str:
        return self.osv_id


class AffectedPackage(models.Model):
    """One `affected` entry of an advisory, keyed by ecosystem and normalised name for matching."""

    advisory = models.ForeignKey(Advisory, on_delete=models.CASCADE, related_name="affected")
    ecosystem = models.CharField(max_length=40)
    package = models.CharField(max_length=500)
    entry = models.JSONField(help_text="The OSV affected entry: versions, ranges …")
    fixed = ArrayField(models.CharField(max_length=200), default=list, blank=True)

    class Meta:
        indexes = [models.Index(fields=["ecosystem", "package"])]

    def __str__(self) -> str:
        return f"{self.advisory_id}: {self.ecosystem}/{self.package}"


class ImportRun(models.Model):
    """One run of the importer (command or scheduled sync): what it read and what changed."""

    source = models.CharField(max_length=1000)
    trigger = models.CharField(max_length=20, default="command")
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    read = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    withdrawn = models.PositiveIntegerField(default=0)
    invalid = models.PositiveIntegerField(default=0)
    problems = models.JSONField(default=list, blank=True)
    alerts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"import of {self.source} at {self.started_at:%Y-%m-%d %H:%M} UTC"


class Finding(models.Model):
    """A release's component affected by an advisory (kept in step with the SBOMs and the database)."""

    release = models.ForeignKey(Release, on_delete=models.PROTECT, related_name="vulnerability_findings")
    advisory = models.ForeignKey(Advisory, on_delete=models.CASCADE, related_name="findings")
    purl = models.CharField(max_length=1000)
    ecosystem = models.CharField(max_length=40)
    package = models.CharField(max_length=500)
    version = models.CharField(max_length=200)
    fixed = models.CharField(max_length=200, blank=True, help_text="The lowest fixed version above this one.")
    first_seen_at = models.DateTimeField(default=timezone.now)
    alerted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["release", "advisory__osv_id", "purl"]
        constraints = [models.UniqueConstraint(fields=["release", "advisory", "purl"], name="finding_once")]

    def __str__(self) -> str:
        return f"{self.release}: {self.advisory.osv_id} in {self.purl}"


class Waiver(Audited):
    """Accepting an advisory in a package of a service until an expiry; approved by a second person."""

    class Status(models.TextChoices):
        REQUESTED = "requested"
        APPROVED = "approved"
        REVOKED = "revoked"

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="vulnerability_waivers")
    advisory_id = models.CharField(max_length=100, help_text="The OSV id (e.g. GHSA-…, PYSEC-…).")
    ecosystem = models.CharField(max_length=40)
    package = models.CharField(max_length=500, help_text="The name as the ecosystem normalises it.")
    reason = models.TextField()
    expires_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.REQUESTED)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["service", "advisory_id", "package"])]

    def __str__(self) -> str:
        return f"{self.service.slug}: {self.advisory_id} in {self.ecosystem}/{self.package}"

    def in_force(self, now: datetime | None = None) -> bool:
        return self.status == self.Status.APPROVED and self.expires_at > (now or timezone.now())


class SeverityPolicy(Audited):
    """The lowest severity that blocks a release entering an environment (default: high in production)."""

    environment = models.OneToOneField(Environment, on_delete=models.PROTECT, related_name="severity_policy")
    min_severity = models.CharField(max_length=10, choices=RATING_CHOICES, default="high")
    blocks = models.BooleanField(default=True, help_text="Off: findings are shown by the gate but do not block.")
    require_sbom = models.BooleanField(
        default=False, db_default=False,
        help_text="On: a release without an SBOM waits at the gate (pending) until one is attached, instead of "
                  "entering with its dependencies unchecked.")

    class Meta:
        verbose_name_plural = "severity policies"
        ordering = ["environment__order"]

    def __str__(self) -> str:
        sbom = "; an SBOM is required" if self.require_sbom else ""
        return f"{self.environment.slug}: {self.min_severity} and above {'blocks' if self.blocks else 'warns'}{sbom}"
