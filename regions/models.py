from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.utils.translation import gettext_lazy as _


class Division(models.Model):
    """One official (or NBS statistical) administrative division: province, prefecture, county or township."""

    class Level(models.TextChoices):
        PROVINCE = "province", _("Province")
        PREFECTURE = "prefecture", _("Prefecture")
        COUNTY = "county", _("County")
        TOWNSHIP = "township", _("Township")

    code = models.CharField(_("code"), max_length=12, primary_key=True)
    name = models.CharField(_("name"), max_length=64)
    level = models.CharField(_("level"), max_length=12, choices=Level.choices)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children", verbose_name=_("parent")
    )
    province = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("province")
    )
    # Codes of the ancestors, province first: "is this inside a served area" is one indexed overlap query.
    ancestor_codes = ArrayField(models.CharField(max_length=12), default=list, blank=True)
    full_name = models.CharField(_("full name"), max_length=200, help_text=_("Path from the province, space-separated"))
    pinyin = models.CharField(_("pinyin"), max_length=200, db_index=True)
    initials = models.CharField(_("pinyin initials"), max_length=64, db_index=True)
    is_official = models.BooleanField(
        _("official"),
        default=True,
        help_text=_("False for NBS statistical units the Ministry of Civil Affairs does not list"),
    )
    source = models.CharField(_("source"), max_length=8)

    class Meta:
        verbose_name = _("division")
        verbose_name_plural = _("divisions")
        ordering = ["code"]
        indexes = [
            GinIndex(fields=["ancestor_codes"], name="division_ancestors_gin"),
            models.Index(fields=["name"], name="division_name_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(level="province", parent__isnull=True)
                | (~models.Q(level="province") & models.Q(parent__isnull=False)),
                name="division_parent_by_level",
            ),
        ]

    def __str__(self) -> str:
        return self.full_name or self.name


class DivisionAlias(models.Model):
    """Another name people use for a division: a former name, a short form, or an unofficial zone inside it."""

    class Kind(models.TextChoices):
        HISTORICAL = "historical", _("Historical")
        ABBREVIATION = "abbreviation", _("Abbreviation")
        COLLOQUIAL = "colloquial", _("Colloquial")
        UNOFFICIAL = "unofficial", _("Unofficial zone")

    name = models.CharField(_("name"), max_length=64)
    division = models.ForeignKey(Division, on_delete=models.CASCADE, related_name="aliases", verbose_name=_("division"))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    old_code = models.CharField(_("former code"), max_length=12, blank=True)
    valid_until = models.PositiveSmallIntegerField(_("valid until (year)"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("division alias")
        verbose_name_plural = _("division aliases")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["name", "division", "kind"], name="division_alias_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.name} → {self.division_id}"


class CatalogueImport(models.Model):
    """A load of the division catalogue; its checksum lets a second `make run` skip an unchanged catalogue."""

    sha256 = models.CharField(max_length=64)
    divisions = models.PositiveIntegerField()
    aliases = models.PositiveIntegerField()
    loaded_at = models.DateTimeField()

    class Meta:
        get_latest_by = "loaded_at"

    def __str__(self) -> str:
        return f"{self.divisions} divisions, {self.sha256[:12]}"


class ServiceArea(models.Model):
    """A division the business serves, with the list entry it came from; it covers the division's descendants."""

    division = models.OneToOneField(
        Division, on_delete=models.PROTECT, related_name="service_area", verbose_name=_("division")
    )
    source_entry = models.CharField(_("source entry"), max_length=100)
    outcome = models.CharField(_("resolution"), max_length=16)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("service area")
        verbose_name_plural = _("service areas")
        ordering = ["division_id"]

    def __str__(self) -> str:
        return str(self.division)
