"""The reports' message catalogue: every translatable text, extracted from code and templates.

`python -m reports.catalogue` brings the Dutch `.po` up to date after a text changed: new
messages are added untranslated, changed ones keep their old translation marked fuzzy
(not used until a translator checks it), vanished ones become obsolete. The tests use
`extract_messages` to check that every message has a Dutch translation.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from reports.language import DOMAIN, LOCALES, catalogue_path

PACKAGE = Path(__file__).parent
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "pgettext": ((1, "c"), 2),
    "N_": None,
    "markup": None,
    "nmarkup": (1, 2),
}
METHODS = [
    ("templates/**.j2", "jinja2.ext:babel_extract"),
    ("**.py", "python"),
]
OPTIONS = {"templates/**.j2": {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true"}}


def extract_messages() -> Catalog:
    """A catalogue of every message in `reports/` (templates and Python), without translations."""
    catalogue = Catalog(domain=DOMAIN, project="takedown-monitor reports", charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
        PACKAGE, METHODS, options_map=OPTIONS, keywords=KEYWORDS, strip_comment_tags=True
    ):
        catalogue.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalogue


def update(lang: str) -> Path:
    """Merge the extracted messages into `lang`'s `.po` (creating it when absent)."""
    path = catalogue_path(lang)
    template = extract_messages()
    if path.exists():
        with path.open("rb") as handle:
            catalogue = read_po(handle, locale=lang, domain=DOMAIN)
        catalogue.update(template, update_header_comment=False)
    else:
        catalogue = Catalog(locale=lang, domain=DOMAIN, charset="utf-8")
        catalogue.update(template)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        write_po(
            handle,
            catalogue,
            width=100,
            sort_output=False,
            include_lineno=False,
            ignore_obsolete=True,
        )
    return path


def main() -> None:
    """Update every non-English catalogue and say which messages still need a translation."""
    for lang in LOCALES:
        if lang == "en":
            continue
        path = update(lang)
        with path.open("rb") as handle:
            catalogue = read_po(handle, locale=lang, domain=DOMAIN)
        todo = [m.id for m in catalogue if m.id and (not m.string or m.fuzzy)]
        print(f"{path}: {len(todo)} message(s) to translate")
        for message in todo:
            print(f"  {message!r}", file=sys.stderr)


if __name__ == "__main__":
    main()
