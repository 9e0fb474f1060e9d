import copy
import heapq
from collections.abc import Iterable

from configcache.memo import remembered
from regions.catalogue import DivisionSummary, catalogue_index
from regions.models import Division, ServiceArea

SEARCH_LIMIT = 20
# The operator's address field wants the units a technician drives to: counties and townships first.
_LEVEL_ORDER = {
    Division.Level.COUNTY: 0,
    Division.Level.TOWNSHIP: 1,
    Division.Level.PREFECTURE: 2,
    Division.Level.PROVINCE: 3,
}


def division_get(*, code: str) -> Division | None:
    """Return the division with this code, or None; the catalogue is remembered in the process until it changes
    (configcache.memo), and each caller gets its own copy."""
    division = remembered(("regions",), ("division", code), lambda: Division.objects.filter(code=code).first())
    return copy.copy(division)


def is_served(division: Division | DivisionSummary) -> bool:
    """Return whether the division or one of its ancestors is an active service area (remembered in the process until
    a division or a service area changes: configcache.memo)."""
    codes = [*division.ancestor_codes, division.code]
    return remembered(
        ("regions",),
        ("served", division.code),
        lambda: ServiceArea.objects.filter(division_id__in=codes, is_active=True).exists(),
    )


def served_codes(*, divisions: Iterable[Division | DivisionSummary]) -> set[str]:
    """Return the codes of `divisions` that are served (themselves or through an ancestor), in one query."""
    divisions = list(divisions)
    wanted = {code for division in divisions for code in (*division.ancestor_codes, division.code)}
    if not wanted:
        return set()
    active = set(
        ServiceArea.objects.filter(division_id__in=wanted, is_active=True).values_list("division_id", flat=True)
    )
    return {d.code for d in divisions if not active.isdisjoint((*d.ancestor_codes, d.code))}


def division_list_search(*, query: str, limit: int = SEARCH_LIMIT) -> list[DivisionSummary]:
    """Return divisions matching a type-ahead query: Chinese text anywhere in the path, or pinyin/initials of the name.

    Several words must all match (临汾 永和). Ranking: the name starts with the last word, the name contains it, only
    the path contains it; within each, counties before townships before prefectures and provinces, then by code.
    """
    words = query.split()
    if not words:
        return []
    rows = catalogue_index().summaries
    for word in words:
        if word.isascii():
            lowered = word.lower()
            rows = [row for row in rows if row.initials.startswith(lowered) or row.pinyin.startswith(lowered)]
        else:
            rows = [row for row in rows if word in row.full_name]
    last = words[-1]
    if last.isascii():
        lowered = last.lower()

        def name_rank(row: DivisionSummary) -> int:
            return 0 if lowered in (row.initials, row.pinyin) else 1
    else:

        def name_rank(row: DivisionSummary) -> int:
            return 0 if row.name.startswith(last) else 1 if last in row.name else 2

    # Ties in code order: provinces in their official order, places of one county together.
    return heapq.nsmallest(limit, rows, key=lambda row: (name_rank(row), _LEVEL_ORDER[row.level], row.code))


def division_list_nearest_served(*, division: Division, limit: int = 3) -> list[Division]:
    """Return served divisions closest to an unserved one: those in its county, else its prefecture, else province."""
    for ancestor in reversed(division.ancestor_codes):
        areas = (
            ServiceArea.objects.filter(is_active=True, division__ancestor_codes__contains=[ancestor])
            .select_related("division")
            .order_by("division_id")[:limit]
        )
        found = [area.division for area in areas]
        if found:
            return found
    return []
