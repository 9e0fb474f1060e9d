"""Resolve free text ("宁夏石嘴山市平罗县", "五指山市毛阳") to one division, or say why it cannot.

The whole string is segmented into known names (official, short, former or unofficial) where every segment lies
inside the one before it. All complete segmentations are kept: if they end in more than one division the answer is
`ambiguous`, never the first or the likeliest. The index is built from the database once per process and rebuilt
when a newer catalogue import appears.
"""

import re
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from typing import NamedTuple

from django.utils.translation import gettext as _

from regions.models import CatalogueImport, Division, DivisionAlias


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
_ALIAS_OUTCOME = {
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
    notes: tuple[str, ...] = field(default=(), compare=False)

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


class _Entry(NamedTuple):
    path: str
    ancestors: frozenset
    is_official: bool


class _Match(NamedTuple):
    code: str
    outcome: str
    note: str


class _Index:
    def __init__(self, version: int | None) -> None:
        self.version = version
        self.divisions: dict[str, _Entry] = {}
        self.forms: dict[str, list[_Match]] = {}
        for code, full_name, ancestors, is_official, name in Division.objects.values_list(
            "code", "full_name", "ancestor_codes", "is_official", "name"
        ):
            self.divisions[code] = _Entry(full_name, frozenset(ancestors), is_official)
            self.forms.setdefault(name, []).append(_Match(code, Outcome.EXACT, ""))
        for name, code, kind, note in DivisionAlias.objects.values_list("name", "division_id", "kind", "note"):
            self.forms.setdefault(name, []).append(_Match(code, _ALIAS_OUTCOME[kind], note))
        self.longest = max((len(form) for form in self.forms), default=0)


_index: _Index | None = None
_checked_at = 0.0
_lock = threading.Lock()
# Another process may load a new catalogue; look for one at most this often (this process's loads reset at once).
VERSION_CHECK_SECONDS = 10.0


def _catalogue_version() -> int | None:
    return CatalogueImport.objects.order_by("-pk").values_list("pk", flat=True).first()


def _get_index() -> _Index:
    global _index, _checked_at
    if _index is not None and time.monotonic() - _checked_at < VERSION_CHECK_SECONDS:
        return _index
    version = _catalogue_version()
    _checked_at = time.monotonic()
    if _index is None or _index.version != version:
        with _lock:
            if _index is None or _index.version != version:
                _index = _Index(version)
    return _index


def normalize(text: str) -> str:
    """Return `text` in NFKC (full-width to half-width) without spaces or separators."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", text or ""))


def _parse(index: _Index, text: str) -> tuple[dict[str, tuple[int, list[_Match]]], int, dict]:
    """Return every complete segmentation by final code, the furthest position reached and the chain per state."""
    length = len(text)
    # state: (position, code of the last segment) -> best (rank, segments) reaching it
    states: dict[tuple[int, str | None], tuple[int, list[_Match]]] = {(0, None): (0, [])}
    furthest = 0
    for position in range(length):
        current = [(key, value) for key, value in states.items() if key[0] == position]
        for (_position, last), (rank, segments) in current:
            for end in range(position + 1, min(length, position + index.longest) + 1):
                matches = [
                    match
                    for match in index.forms.get(text[position:end], ())
                    if match.code in index.divisions
                    and (
                        last is None
                        or last in index.divisions[match.code].ancestors
                        # 莱芜市莱城区: a merged city and its district both became 济南市莱芜区.
                        or (last == match.code and match.outcome == Outcome.HISTORICAL)
                    )
                ]
                # A segment that is a division's full official name is read as that name, not as the short form of
                # another (古县 is the county, not 古县乡 with its suffix dropped).
                if any(match.outcome == Outcome.EXACT for match in matches):
                    matches = [match for match in matches if match.outcome != Outcome.ABBREVIATED]
                for match in matches:
                    entry = index.divisions[match.code]
                    outcome = match.outcome
                    if not entry.is_official:
                        outcome = Outcome.UNOFFICIAL
                    new_rank = max(rank, _RANK[outcome])
                    key = (end, match.code)
                    if key not in states or states[key][0] > new_rank:
                        states[key] = (new_rank, [*segments, match._replace(outcome=outcome)])
                    furthest = max(furthest, end)
    complete = {key[1]: value for key, value in states.items() if key[0] == length and key[1] is not None}
    return complete, furthest, states


def _outcome_of(rank: int) -> str:
    return next(outcome for outcome, value in _RANK.items() if value == rank)


def resolve(text: str, *, _index_override: _Index | None = None) -> Resolution:
    """Resolve one entry to a division; an entry that names no division, or several, says so and why."""
    index = _index_override or _get_index()
    original = (text or "").strip()
    cleaned = normalize(original)
    if not cleaned:
        return Resolution(original, Outcome.INVALID, reason=_("The entry is empty."))
    complete, furthest, states = _parse(index, cleaned)
    if len(complete) == 1:
        code, (rank, segments) = next(iter(complete.items()))
        outcome = _outcome_of(rank)
        notes = tuple(segment.note for segment in segments if segment.note)
        return Resolution(
            original, outcome, code, index.divisions[code].path, reason=_explain(outcome, segments, index), notes=notes
        )
    if complete:
        candidates = tuple(sorted(Candidate(code, index.divisions[code].path) for code in complete))
        return Resolution(
            original,
            Outcome.AMBIGUOUS,
            candidates=candidates,
            reason=_("“%(text)s” fits %(count)d divisions: %(paths)s. Add the province or city.")
            % {"text": original, "count": len(candidates), "paths": "; ".join(c.path for c in candidates)},
        )
    return _invalid(original, cleaned, furthest, states, index)


def _explain(outcome: str, segments: list[_Match], index: _Index) -> str:
    if outcome == Outcome.EXACT:
        return ""
    parts = []
    for segment in segments:
        name = index.divisions[segment.code].path.rsplit(" ", 1)[-1]
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


def _invalid(original: str, cleaned: str, furthest: int, states: dict, index: _Index) -> Resolution:
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
    context_path = index.divisions[context].path if context else cleaned[:furthest]
    elsewhere = [match.code for match in index.forms.get(rest, ()) if match.code in index.divisions]
    if elsewhere:
        paths = "; ".join(sorted({index.divisions[code].path for code in elsewhere}))
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


def resolver_reset() -> None:
    """Forget the in-memory index (tests that rewrite the catalogue call this)."""
    global _index
    _index = None
