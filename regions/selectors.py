from django.db.models import Case, IntegerField, Q, Value, When

from regions.models import Division, ServiceArea

SEARCH_LIMIT = 20
# The operator's address field wants the units a technician drives to: counties and townships first.
_LEVEL_ORDER = {
    Division.Level.COUNTY: 0,
    Division.Level.TOWNSHIP: 1,
    Division.Level.PREFECTURE: 2,
    Division.Level.PROVINCE: 3,
}


def is_served(division: Division) -> bool:
    """Return whether the division or one of its ancestors is an active service area."""
    return ServiceArea.objects.filter(
        division_id__in=[*division.ancestor_codes, division.code], is_active=True
    ).exists()


def served_codes(*, divisions: list[Division]) -> set[str]:
    """Return the codes of `divisions` that are served, in one query."""
    wanted = {code for division in divisions for code in (*division.ancestor_codes, division.code)}
    active = set(
        ServiceArea.objects.filter(division_id__in=wanted, is_active=True).values_list("division_id", flat=True)
    )
    return {d.code for d in divisions if active.intersection((*d.ancestor_codes, d.code))}


def division_list_search(*, query: str, limit: int = SEARCH_LIMIT) -> list[Division]:
    """Return divisions matching a type-ahead query: Chinese text anywhere in the path, or pinyin/initials of the name.

    Several words must all match (临汾 永和). Ranking: name starts with the query, name contains it, only the path
    contains it; within each, counties before townships before prefectures and provinces, then shorter paths.
    """
    words = query.split()
    if not words:
        return []
    condition = Q()
    name_rank = []
    for word in words:
        if word.isascii():
            lowered = word.lower()
            condition &= Q(initials__startswith=lowered) | Q(pinyin__startswith=lowered)
            name_rank.append(When(Q(initials=lowered) | Q(pinyin=lowered), then=Value(0)))
        else:
            condition &= Q(full_name__contains=word)
            name_rank += [
                When(name__startswith=word, then=Value(0)),
                When(name__contains=word, then=Value(1)),
            ]
    last = words[-1]
    rank = Case(*name_rank, default=Value(2 if not last.isascii() else 1), output_field=IntegerField())
    level = Case(
        *(When(level=lv, then=Value(order)) for lv, order in _LEVEL_ORDER.items()), output_field=IntegerField()
    )
    return list(
        Division.objects.filter(condition)
        .annotate(name_rank=rank, level_rank=level)
        .order_by("name_rank", "level_rank", "full_name")
        .only("code", "name", "level", "full_name", "ancestor_codes")[:limit]
    )
