"""Provider names: hostile text made safe to show, and a key that ignores form.

`display_name` keeps what a person wrote, minus what must never reach a
terminal or a report (control and bidi-override characters) and minus a
trailing legal form. `name_key` is what aliases match on: case, punctuation,
whitespace and legal-form words do not matter ("LeaseWeb Netherlands B.V." and
"leaseweb netherlands bv" are the same key). `base_key` also drops a trailing
country ("leaseweb netherlands" -> "leaseweb"): the registry takes a company's
national subsidiary and the company itself for one provider (unless an analyst
gives the subsidiary an alias of its own), but never two subsidiaries for each other.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

MAX_LENGTH = 255

# Legal-form words and abbreviations, compared after punctuation is removed and
# the text is lower-cased. Multi-word forms first.
LEGAL_FORMS = (
    "sp z o o",
    "spolka z o o",
    "s de rl de cv",
    "s a de c v",
    "sa de cv",
    "pte ltd",
    "pty ltd",
    "co ltd",
    "fz llc",
    "fz co",
    "l l c",
    "b v",
    "n v",
    "s a",
    "s r l",
    "s l",
    "s r o",
    "a s",
    "k k",
    "o o o",
    "bv",
    "nv",
    "gmbh",
    "mbh",
    "ag",
    "kg",
    "ug",
    "ltd",
    "limited",
    "llc",
    "inc",
    "incorporated",
    "corp",
    "corporation",
    "co",
    "company",
    "plc",
    "llp",
    "lp",
    "sa",
    "sas",
    "sarl",
    "sasu",
    "srl",
    "sl",
    "spa",
    "sro",
    "as",
    "asa",
    "ab",
    "oy",
    "oyj",
    "aps",
    "kft",
    "zrt",
    "doo",
    "ooo",
    "ojsc",
    "cjsc",
    "jsc",
    "pjsc",
    "ao",
    "zao",
    "tov",
    "fze",
    "fzco",
    "fzllc",
    "bhd",
    "sdn",
    "pte",
    "pty",
    "kk",
    "se",
)
_FORMS_BY_SIZE: dict[int, frozenset[tuple[str, ...]]] = {
    size: frozenset(tuple(form.split()) for form in LEGAL_FORMS if len(form.split()) == size)
    for size in sorted({len(form.split()) for form in LEGAL_FORMS}, reverse=True)
}
_LEADING_FORMS = frozenset(
    {("ooo",), ("o", "o", "o"), ("llc",)}
)  # Russian style "OOO Name", "LLC Name"
_PUNCTUATION = re.compile(r"[^\w\s]+", re.UNICODE)
_TRAILING_FORM = re.compile(
    r"[\s,]+(?:"
    + "|".join(
        r"[.\s-]*".join(re.escape(letter) for letter in form.replace(" ", ""))
        for form in sorted(LEGAL_FORMS, key=len, reverse=True)
    )
    + r")\.?\s*$",
    re.IGNORECASE,
)


def clean_text(text: str | None) -> str:
    """NFKC text without control, format (bidi override, zero-width) or surrogate characters,
    whitespace collapsed, at most 255 characters."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text)
    if not text.isprintable():  # printable text has no character of a C category
        text = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in text)
    return " ".join(text.split())[:MAX_LENGTH]


def _strip_forms(words: list[str]) -> list[str]:
    changed = True
    while changed:
        changed = False
        for size, forms in _FORMS_BY_SIZE.items():
            if len(words) > size and tuple(words[-size:]) in forms:
                words = words[:-size]
                changed = True
                break
            if len(words) > size and tuple(words[:size]) in _LEADING_FORMS:
                words = words[size:]
                changed = True
                break
    return words


@lru_cache(maxsize=200_000)
def name_key(text: str | None) -> str:
    """The matching key: lower case, no punctuation, no legal form; '' when nothing is left."""
    cleaned = clean_text(text).casefold()
    cleaned = cleaned.replace("&", " and ")
    words = _PUNCTUATION.sub(" ", cleaned).split()
    return " ".join(_strip_forms(words))[:MAX_LENGTH]


@lru_cache(maxsize=200_000)
def display_name(text: str | None) -> str:
    """The name as written, cleaned, without a trailing legal form ("Hetzner Online GmbH" ->
    "Hetzner Online")."""
    cleaned = clean_text(text)
    previous = None
    while cleaned and cleaned != previous:
        previous = cleaned
        shorter = _TRAILING_FORM.sub("", cleaned).rstrip(" ,")
        cleaned = shorter if shorter else cleaned
    return cleaned


# Country (and region) words that end the name of a national subsidiary: "Leaseweb
# Netherlands", "Amazon Data Services Ireland", "OVH Hosting Deutschland". Compared after
# name_key (lower case, no punctuation, no legal form); several words first.
COUNTRY_SUFFIXES = (
    "the netherlands",
    "united kingdom",
    "great britain",
    "united states",
    "hong kong",
    "czech republic",
    "south africa",
    "new zealand",
    "asia pacific",
    "north america",
    "netherlands",
    "nederland",
    "holland",
    "nl",
    "deutschland",
    "germany",
    "de",
    "france",
    "fr",
    "belgium",
    "belgie",
    "belgique",
    "luxembourg",
    "ireland",
    "uk",
    "gb",
    "usa",
    "us",
    "america",
    "canada",
    "europe",
    "eu",
    "italia",
    "italy",
    "espana",
    "spain",
    "portugal",
    "polska",
    "poland",
    "sweden",
    "sverige",
    "norway",
    "norge",
    "denmark",
    "danmark",
    "finland",
    "suomi",
    "switzerland",
    "schweiz",
    "suisse",
    "austria",
    "osterreich",
    "romania",
    "bulgaria",
    "lithuania",
    "latvia",
    "estonia",
    "russia",
    "ukraine",
    "turkey",
    "turkiye",
    "singapore",
    "japan",
    "india",
    "australia",
    "brazil",
    "brasil",
    "mexico",
    "asia",
    "apac",
    "emea",
)
_COUNTRY_WORDS = sorted((tuple(c.split()) for c in COUNTRY_SUFFIXES), key=len, reverse=True)


@lru_cache(maxsize=200_000)
def base_key(key: str) -> str:
    """A name key without a trailing country word ("leaseweb netherlands" -> "leaseweb");
    the key itself when none ends it or nothing would be left."""
    words = key.split()
    for country in _COUNTRY_WORDS:
        if len(words) > len(country) and tuple(words[-len(country) :]) == country:
            return " ".join(words[: -len(country)])
    return key
