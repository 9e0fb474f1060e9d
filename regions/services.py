import csv
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from pypinyin import lazy_pinyin

from regions.catalogue import catalogue_reset
from regions.models import CatalogueImport, Division, DivisionAlias, ServiceArea
from regions.names import short_names
from regions.resolver import Outcome, Resolution, resolve

__all__ = [
    "Outcome",
    "Resolution",
    "catalogue_load",
    "region_import",
    "resolve",
    "service_area_load",
]

CATALOGUE_DIR = settings.BASE_DIR / "fixtures" / "regions"
BATCH_SIZE = 5000
# Divisions in the catalogue that no technician can reach (fixtures/regions/README.md, caveat 1).
UNSERVABLE = {
    "350527": gettext_noop("金门县 is administered from Taiwan; it cannot be served."),
    "710000": gettext_noop("台湾省 has no divisions below it in the catalogue and cannot be served."),
}


@dataclass
class ImportResult:
    divisions: int
    aliases: int
    skipped: bool = False


def _pinyin(name: str) -> tuple[str, str]:
    syllables = lazy_pinyin(name, errors="ignore")
    return "".join(syllables), "".join(syllable[0] for syllable in syllables if syllable)


@transaction.atomic
def region_import(*, rows: list[dict], alias_rows: list[dict]) -> ImportResult:
    """Upsert the division catalogue and its aliases on the official code; raises KeyError on an unknown parent."""
    parents = {row["code"]: row["parent_code"] or None for row in rows}
    names = {row["code"]: row["name"] for row in rows}

    def ancestors(code: str) -> list[str]:
        chain = []
        parent = parents[code]
        while parent is not None:
            chain.append(parent)
            parent = parents[parent]
        return chain[::-1]

    divisions = []
    for row in rows:
        chain = ancestors(row["code"])
        pinyin, initials = _pinyin(row["name"])
        divisions.append(
            Division(
                code=row["code"],
                name=row["name"],
                level=row["level"],
                parent_id=parents[row["code"]],
                province_id=chain[0] if chain else None,
                ancestor_codes=chain,
                full_name=" ".join([*(names[code] for code in chain), row["name"]]),
                pinyin=pinyin[:200],
                initials=initials[:64],
                is_official=row["official"] == "1",
                source=row["source"],
            )
        )
    # Parent foreign keys are DEFERRABLE INITIALLY DEFERRED in PostgreSQL, so row order does not matter here.
    Division.objects.bulk_create(
        divisions,
        batch_size=BATCH_SIZE,
        update_conflicts=True,
        unique_fields=["code"],
        update_fields=[
            "name",
            "level",
            "parent",
            "province",
            "ancestor_codes",
            "full_name",
            "pinyin",
            "initials",
            "is_official",
            "source",
        ],
    )

    aliases = {}
    for division in divisions:
        for name in short_names(division.name, division.level):
            aliases[(name, division.code, DivisionAlias.Kind.ABBREVIATION)] = DivisionAlias(
                name=name, division_id=division.code, kind=DivisionAlias.Kind.ABBREVIATION
            )
    for row in alias_rows:
        kind = DivisionAlias.Kind.UNOFFICIAL if row["note"].startswith("unofficial") else DivisionAlias.Kind.HISTORICAL
        aliases[(row["old_name"], row["new_code"], kind)] = DivisionAlias(
            name=row["old_name"],
            division_id=row["new_code"],
            kind=kind,
            old_code=row["old_code"],
            valid_until=int(row["change_year"]) if row["change_year"] else None,
            note=row["note"][:300],
        )
    # Aliases are derived data: replace them wholesale so a rename in the catalogue leaves no stale short form.
    DivisionAlias.objects.all().delete()
    DivisionAlias.objects.bulk_create(aliases.values(), batch_size=BATCH_SIZE)
    catalogue_reset()
    return ImportResult(divisions=len(divisions), aliases=len(aliases))


def _read_csv(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def catalogue_load(*, directory: Path = CATALOGUE_DIR, force: bool = False) -> ImportResult:
    """Load divisions.csv and aliases.csv from `directory` unless this exact catalogue is already loaded."""
    paths = [directory / "divisions.csv", directory / "aliases.csv"]
    digest = hashlib.sha256(b"".join(path.read_bytes() for path in paths)).hexdigest()
    latest = CatalogueImport.objects.order_by("-pk").first()
    if latest is not None and latest.sha256 == digest and not force:
        return ImportResult(divisions=latest.divisions, aliases=latest.aliases, skipped=True)
    result = region_import(rows=_read_csv(paths[0]), alias_rows=_read_csv(paths[1]))
    CatalogueImport.objects.create(
        sha256=digest, divisions=result.divisions, aliases=result.aliases, loaded_at=timezone.now()
    )
    catalogue_reset()
    return result


def split_entries(text: str) -> list[str]:
    """Split a service-area list into entries: one per line, or several on a line separated by '、'."""
    return [entry.strip() for line in text.splitlines() for entry in line.split("、") if entry.strip()]


@dataclass
class ServiceAreaReport:
    entries: int = 0
    distinct: int = 0
    outcomes: Counter = field(default_factory=Counter)
    created: int = 0
    unchanged: int = 0
    resolutions: list[Resolution] = field(default_factory=list)
    refused: list[tuple[Resolution, str]] = field(default_factory=list)


@transaction.atomic
def service_area_load(*, text: str) -> ServiceAreaReport:
    """Resolve every entry of a service-area list and store one ServiceArea per division; unresolved entries are
    reported, never stored."""
    entries = split_entries(text)
    report = ServiceAreaReport(entries=len(entries))
    seen: dict[str, Resolution] = {}
    for entry in entries:
        if entry not in seen:
            seen[entry] = resolve(entry)
    report.distinct = len(seen)
    for resolution in seen.values():
        report.outcomes[resolution.outcome] += 1
        report.resolutions.append(resolution)
        if not resolution.is_resolved:
            continue
        if resolution.code in UNSERVABLE:
            report.refused.append((resolution, _(UNSERVABLE[resolution.code])))
            continue
        _area, created = ServiceArea.objects.get_or_create(
            division_id=resolution.code,
            defaults={"source_entry": resolution.input, "outcome": resolution.outcome},
        )
        if created:
            report.created += 1
        else:
            report.unchanged += 1
    return report
