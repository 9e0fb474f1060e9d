"""The division catalogue held in memory, for the resolver and the operator's type-ahead.

PostgreSQL stays the source of truth. An infix search over Chinese paths cannot use a B-tree, and pg_trgm is not
available everywhere we run (the embedded server lacks it); a scan of 42,000 short strings in memory takes a few
milliseconds, a sequential scan with LIKE in PostgreSQL about 14 ms. Each process builds the index once (about a
second) and rebuilds it when a newer catalogue import appears.
"""

import threading
import time
from typing import NamedTuple

from regions.models import CatalogueImport, Division, DivisionAlias

# Another process may load a new catalogue; look for one at most this often (this process's loads reset at once).
VERSION_CHECK_SECONDS = 10.0


class DivisionSummary(NamedTuple):
    code: str
    name: str
    level: str
    full_name: str
    ancestor_codes: tuple[str, ...]
    initials: str
    pinyin: str
    is_official: bool

    @property
    def level_label(self) -> str:
        return Division.Level(self.level).label


class FormMatch(NamedTuple):
    code: str
    kind: str  # "exact" for the official name, else a DivisionAlias.Kind
    note: str


class CatalogueIndex:
    def __init__(self, version: int | None) -> None:
        self.version = version
        self.divisions: dict[str, DivisionSummary] = {}
        self.ancestors: dict[str, frozenset[str]] = {}
        self.forms: dict[str, list[FormMatch]] = {}
        rows = Division.objects.order_by("code").values_list(
            "code", "name", "level", "full_name", "ancestor_codes", "initials", "pinyin", "is_official"
        )
        for code, name, level, full_name, ancestors, initials, pinyin, is_official in rows.iterator(chunk_size=5000):
            self.divisions[code] = DivisionSummary(
                code, name, level, full_name, tuple(ancestors), initials, pinyin, is_official
            )
            self.ancestors[code] = frozenset(ancestors)
            self.forms.setdefault(name, []).append(FormMatch(code, "exact", ""))
        for name, code, kind, note in DivisionAlias.objects.values_list("name", "division_id", "kind", "note"):
            self.forms.setdefault(name, []).append(FormMatch(code, kind, note))
        self.longest = max((len(form) for form in self.forms), default=0)
        self.summaries = list(self.divisions.values())


_index: CatalogueIndex | None = None
_checked_at = 0.0
_lock = threading.Lock()


def catalogue_index() -> CatalogueIndex:
    """Return this process's catalogue index, rebuilding it if a newer catalogue has been loaded."""
    global _index, _checked_at
    if _index is not None and time.monotonic() - _checked_at < VERSION_CHECK_SECONDS:
        return _index
    version = CatalogueImport.objects.order_by("-pk").values_list("pk", flat=True).first()
    with _lock:
        if _index is None or _index.version != version:
            _index = CatalogueIndex(version)
        _checked_at = time.monotonic()
    return _index


def catalogue_reset() -> None:
    """Forget the index; the next call rebuilds it (after a load in this process, and in tests)."""
    global _index
    _index = None
