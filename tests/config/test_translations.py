import gettext
import re

from django.conf import settings

LOCALE = settings.BASE_DIR / "locale" / "zh_Hans" / "LC_MESSAGES"


def _po_entries() -> dict[str, str]:
    """Parse django.po into {msgid: msgstr} (single and multi-line strings; a plural's first form, as Chinese has
    only one)."""
    entries, current, field = {}, {"msgid": "", "msgstr": ""}, None
    for line in [*(LOCALE / "django.po").read_text(encoding="utf-8").splitlines(), ""]:
        if line.startswith("msgid_plural "):
            field = None
            continue
        match = re.match(r'^(msgid|msgstr)(?:\[0\])? "(.*)"$', line)
        if match:
            field = match.group(1)
            if field == "msgid" and current["msgid"]:
                entries[current["msgid"]] = current["msgstr"]
                current = {"msgid": "", "msgstr": ""}
            current[field] = match.group(2)
        elif line.startswith('"') and field:
            current[field] += line[1:-1]
    if current["msgid"]:
        entries[current["msgid"]] = current["msgstr"]
    return entries


def test_every_string_has_a_chinese_translation():
    untranslated = [msgid for msgid, msgstr in _po_entries().items() if not msgstr]
    assert untranslated == []


def test_compiled_catalogue_matches_the_po_file():
    catalogue = gettext.GNUTranslations((LOCALE / "django.mo").open("rb"))
    for msgid, msgstr in _po_entries().items():
        expected = msgstr.encode().decode("unicode_escape").encode("latin-1").decode()
        key = msgid.encode().decode("unicode_escape").encode("latin-1").decode()
        translated = catalogue.ngettext(key, "", 1) if (key, 0) in catalogue._catalog else catalogue.gettext(key)
        assert translated == expected, msgid
