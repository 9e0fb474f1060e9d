"""Resolve free text ("宁夏石嘴山市平罗县", "五指山市毛阳") to one division, or say why it cannot.

The whole string is segmented into known names (official, short, former or unofficial) where every segment lies
inside the one before it. All complete segmentations are kept: if they end in more than one division the answer is
`ambiguous`, never the first or the likeliest. The index is built from the database once per process and rebuilt
when a newer catalogue import appears (regions.catalogue).
"""

import re
import unicodedata
from dataclasses import dataclass
from typing import NamedTuple

from django.utils.translation import gettext as _

from regions.catalogue import CatalogueIndex, catalogue_index
from regions.models import DivisionAlias


class Outcome:
    EXACT = "exact"
    ABBREVIATED = "abbreviated"
    HISTORICAL = "historical"
    UNOFFICIAL = "unofficial"
    AMBIGUOUS = "ambiguous"
    INVALID = "invalid"

    ALL = (EXACT, ABBREVIATED, HISTORICAL, UNOFFICIAL, AMBIGUOUS, INVALID)


# How far a match is from the official name; a resolution reports its furthest segment.
_RANK = {Outcome.EXACT: 0, Outcome.ABBREVIATED: 1, Outcome.HISTORICAL: 2, Outcome.UNOFFICIAL: 3}
_KIND_OUTCOME = {
    "exact": Outcome.EXACT,
    DivisionAlias.Kind.ABBREVIATION: Outcome.ABBREVIATED,
    DivisionAlias.Kind.COLLOQUIAL: Outcome.ABBREVIATED,
    DivisionAlias.Kind.HISTORICAL: Outcome.HISTORICAL,
    DivisionAlias.Kind.UNOFFICIAL: Outcome.UNOFFICIAL,
}
_SEPARATORS = re.compile(r"[\s/,，;；|·・\-—_]+")
# Names of development zones and new areas: not administrative divisions (fixtures/regions/README.md, caveat 6).
_ZONE_SUFFIXES = (
    "新区",
    "开发区",
    "园区",
    "高新区",
    "实验区",
    "示范区",
    "工业区",
    "保税区",
    "度假区",
    "新城",
    "管委会",
)


@dataclass(frozen=True, order=True)
class Candidate:
    code: str
    path: str


@dataclass(frozen=True)
class Resolution:
    input: str
    outcome: str
    code: str | None = None
    path: str = ""
    candidates: tuple[Candidate, ...] = ()
    reason: str = ""

    @property
    def is_resolved(self) -> bool:
        return self.code is not None

    def as_dict(self) -> dict:
        return {
            "input": self.input,
            "outcome": self.outcome,
            "code": self.code,
            "path": self.path,
            "candidates": [{"code": c.code, "path": c.path} for c in self.candidates],
            "reason": self.reason,
        }


def normalize(text: str) -> str:
    """Return `text` in NFKC (full-width to half-width) without spaces or separators."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", text or ""))


class Segment(NamedTuple):
    code: str
    outcome: str
    note: str


def _parse(index: CatalogueIndex, text: str) -> tuple[dict[str, tuple[int, list[Segment]]], int, dict]:
    """Return every complete segmentation by final code, the furthest position reached and the chain per state."""
    length = len(text)
    # state: (position, code of the last segment) -> best (rank, segments) reaching it
    states: dict[tuple[int, str | None], tuple[int, list[Segment]]] = {(0, None): (0, [])}
    furthest = 0
    for position in range(length):
        current = [(key, value) for key, value in states.items() if key[0] == position]
        for (_position, last), (rank, segments) in current:
            for end in range(position + 1, min(length, position + index.longest) + 1):
                found = index.forms.get(text[position:end])
                if not found:
                    continue
                matches = [
                    Segment(match.code, _KIND_OUTCOME[match.kind], match.note)
                    for match in found
                    if match.code in index.divisions
                    and (
                        last is None
                        or last in index.ancestors[match.code]
                        # 莱芜市莱城区: a merged city and its district both became 济南市莱芜区.
                        or (last == match.code and match.kind == DivisionAlias.Kind.HISTORICAL)
                    )
                ]
                # A segment that is a division's full official name is read as that name, not as the short form of
                # another (古县 is the county, not 古县乡 with its suffix dropped).
                if any(match.outcome == Outcome.EXACT for match in matches):
                    matches = [match for match in matches if match.outcome != Outcome.ABBREVIATED]
                for match in matches:
                    if not index.divisions[match.code].is_official:
                        match = match._replace(outcome=Outcome.UNOFFICIAL)
                    new_rank = max(rank, _RANK[match.outcome])
                    key = (end, match.code)
                    if key not in states or states[key][0] > new_rank:
                        states[key] = (new_rank, [*segments, match])
                    furthest = max(furthest, end)
    complete = {key[1]: value for key, value in states.items() if key[0] == length and key[1] is not None}
    return complete, furthest, states


def _outcome_of(rank: int) -> str:
    return next(outcome for outcome, value in _RANK.items() if value == rank)


def resolve(text: str, *, _index_override: CatalogueIndex | None = None) -> Resolution:
    """Resolve one entry to a division; an entry that names no division, or several, says so and why."""
    index = _index_override or catalogue_index()
    original = (text or "").strip()
    cleaned = normalize(original)
    if not cleaned:
        return Resolution(original, Outcome.INVALID, reason=_("The entry is empty."))
    complete, furthest, states = _parse(index, cleaned)
    if len(complete) == 1:
        code, (rank, segments) = next(iter(complete.items()))
        outcome = _outcome_of(rank)
        return Resolution(
            original,
            outcome,
            code,
            index.divisions[code].full_name,
            reason=_explain(outcome, segments, index),
        )
    if complete:
        candidates = tuple(sorted(Candidate(code, index.divisions[code].full_name) for code in complete))
        return Resolution(
            original,
            Outcome.AMBIGUOUS,
            candidates=candidates,
            reason=_("“%(text)s” fits %(count)d divisions: %(paths)s. Add the province or city.")
            % {"text": original, "count": len(candidates), "paths": "; ".join(c.path for c in candidates)},
        )
    return _invalid(original, cleaned, furthest, states, index)


def _explain(outcome: str, segments: list[Segment], index: CatalogueIndex) -> str:
    if outcome == Outcome.EXACT:
        return ""
    parts = []
    for segment in segments:
        name = index.divisions[segment.code].full_name.rsplit(" ", 1)[-1]
        if segment.outcome == Outcome.ABBREVIATED:
            continue
        if segment.outcome == Outcome.HISTORICAL:
            parts.append(_("former name, now %(name)s (%(code)s)") % {"name": name, "code": segment.code})
        elif segment.outcome == Outcome.UNOFFICIAL:
            if segment.note:
                parts.append(
                    _("not an administrative division; its area lies in %(name)s (%(code)s)")
                    % {"name": name, "code": segment.code}
                )
            else:
                parts.append(
                    _("%(name)s (%(code)s) is a statistical unit, not an official division")
                    % {"name": name, "code": segment.code}
                )
    if outcome == Outcome.ABBREVIATED:
        return _("written with short names")
    return "; ".join(parts)


def _invalid(original: str, cleaned: str, furthest: int, states: dict, index: CatalogueIndex) -> Resolution:
    rest = cleaned[furthest:]
    if rest.endswith(_ZONE_SUFFIXES):
        return Resolution(
            original,
            Outcome.UNOFFICIAL,
            reason=_(
                "“%(text)s” names a development zone or new area, not an administrative division; "
                "name the district it lies in."
            )
            % {"text": original},
        )
    if furthest == 0:
        return Resolution(original, Outcome.INVALID, reason=_("No division is called “%(text)s”.") % {"text": original})
    # Name the context we did understand, and where the rest really is if it exists elsewhere.
    context = next((code for (position, code) in states if position == furthest and code is not None), None)
    context_path = index.divisions[context].full_name if context else cleaned[:furthest]
    elsewhere = [match.code for match in index.forms.get(rest, ()) if match.code in index.divisions]
    if elsewhere:
        paths = "; ".join(sorted({index.divisions[code].full_name for code in elsewhere}))
        return Resolution(
            original,
            Outcome.INVALID,
            reason=_("%(rest)s is not in %(context)s (found: %(paths)s).")
            % {"rest": rest, "context": context_path, "paths": paths},
        )
    return Resolution(
        original,
        Outcome.INVALID,
        reason=_("Understood %(context)s, but no division in it is called “%(rest)s”.")
        % {"context": context_path, "rest": rest},
    )
