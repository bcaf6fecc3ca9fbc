"""The vaccine catalog: which vaccine a request means, and whether it is live.

Names are matched case-insensitively, ignoring punctuation and spaces ("M-M-R II" = "mmr ii"), and ignoring
the words that only say a vaccine is meant ("vaccine", "vaccination", "immunization"): one rule, whatever
words surround the name, so "TBE" asks which product exactly as "TBE vaccine" does. A name or CVX code that
could mean several products (an "unspecified formulation", or two entries) is never resolved by guessing: it
is an error that lists the specific products; where two entries differ only by those words ("RSV", "RSV
vaccine"), each entry's own spelling still names it. A booster name that matches no entry ("tetanus booster")
suggests the adult products first: a booster is what an adult traveller is given.

One entry is one schedule; the brands that share it are its products, each with its own CVX code, so that
a brand name reports the code of that brand (Spikevax 312, not Comirnaty's 309). A name without a brand
reports the entry's generic code. A season written after a COVID-19 or influenza name ("2025-2026",
"2025/26") does not change the timing: it is set aside when the name alone is known, and named in the
error otherwise.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace

from .errors import Candidate, FieldError

_NOT_ALNUM = re.compile(r"[^a-z0-9]")
_WORD = re.compile(r"[a-z0-9]+")
# A vaccine season at the end of a name: "2025-2026", "2025/26", "2025-26 formula", "(2025)".
_SEASON = re.compile(
    r"[\s,(]*\b(?P<season>(?:19|20)\d{2}(?:\s*[-/\u2013]\s*(?:(?:19|20)?\d{2}))?)\b\s*(?:formula|season)?\s*\)?\s*$",
    re.IGNORECASE,
)
# "Did you mean" costs about a millisecond of CPU per unknown name (difflib over every name the catalog knows):
# 250 misspelt names in one request cost 244 ms. A planning call suggests for this many unknown names at most;
# the others are still reported, with a pointer to the catalog instead of suggestions.
SUGGESTED_NAMES_PER_CALL = 10
_suggestions_left: ContextVar[int | None] = ContextVar("suggestions_left", default=None)


@contextmanager
def suggestion_budget(names: int = SUGGESTED_NAMES_PER_CALL) -> Iterator[None]:
    """Within this block, suggestions are made for the first `names` unknown names only (a budget, like the
    batch's time budget: the work one request can cause is bounded). Outside any block: no limit."""
    token = _suggestions_left.set(names)
    try:
        yield
    finally:
        _suggestions_left.reset(token)


def _may_suggest() -> bool:
    left = _suggestions_left.get()
    if left is None:
        return True
    if left <= 0:
        return False
    _suggestions_left.set(left - 1)
    return True


# Words that say nothing about which vaccine is meant: suggestions rank by the other words a name shares.
_FILLER_WORDS = frozenset(
    {"vaccine", "vaccines", "vaccination", "shot", "jab", "booster", "dose", "the", "a", "an", "of", "for", "and"}
)


# Words that only say that a vaccine is meant: a name is matched without them ("TBE vaccine" = "TBE").
# Articles and "and" stay ("Hepatitis A" is not "hepatitis"); so do "shot" and "jab", which say the vaccine is
# injected ("typhoid shot" is the injectable Vi vaccine, not the oral one), and "booster", which asks for a
# product (suggestions, adult products first) rather than meaning the first series of a name.
_VACCINE_WORDS = frozenset({"vaccine", "vaccines", "vaccination", "immunization", "immunisation"})
_BOOSTER_WORDS = frozenset({"booster", "boosters", "boost"})
# Catalog name words that place a product for adults, and for children or the past (suggestion order).
_ADULT_WORDS = frozenset({"adult", "adolescent"})
_NOT_ADULT_WORDS = frozenset({"pediatric", "paediatric", "infant", "junior", "historic"})


def match_key(text: str) -> str:
    """The key a name is matched by: its words without the vaccine words, run together ("TBE vaccine" ->
    "tbe"); a name of nothing but such words keeps them ("vaccine" -> "vaccine")."""
    words = _WORD.findall(text.casefold())
    kept = [w for w in words if w not in _VACCINE_WORDS]
    return "".join(kept or words)


def normalize(text: str) -> str:
    """The matching key of a vaccine name: lower case letters and digits only."""
    return _NOT_ALNUM.sub("", text.casefold())


def meaningful_words(text: str) -> frozenset[str]:
    """The words of a name that can tell vaccines apart ("MMR booster" -> {"mmr"})."""
    return frozenset(_WORD.findall(text.casefold())) - _FILLER_WORDS


def strip_season(name: str) -> tuple[str, str | None]:
    """A name without a trailing vaccine season, and the season ("flu vaccine 2025/26" -> "flu vaccine", "2025/26")."""
    found = _SEASON.search(name)
    if found is None or not name[: found.start()].strip():
        return name, None
    return name[: found.start()].strip(), found.group("season")


def canonical_cvx(code: str) -> str | None:
    """CVX codes are numbers written with at least two digits ("3" and "003" are "03"); None if not a code."""
    code = code.strip()
    if not code.isdigit() or len(code) > 4:
        return None
    return f"{int(code):02d}"


@dataclass(frozen=True)
class Product:
    """A brand within a catalog entry: same schedule as the entry, its own CVX code (None when the CDC CVX
    list has no code for it; the entry's note says so)."""

    name: str
    cvx: str | None
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Vaccine:
    """One vaccine concept: the same for timing purposes across its CVX codes."""

    id: str
    name: str
    cvx: tuple[str, ...]
    live: bool
    route: str
    antigens: tuple[str, ...]
    aliases: tuple[str, ...]
    source: str
    note: str = ""
    products: tuple[Product, ...] = ()
    # The code reported for a name that does not say which product (entries with products only).
    generic_cvx: str | None = None

    @property
    def primary_cvx(self) -> str | None:
        return self.cvx[0] if self.cvx else None

    @property
    def names(self) -> tuple[str, ...]:
        """Every name this entry answers to: its own, its aliases, and its products' names and aliases."""
        return (self.name, *self.aliases, *(n for p in self.products for n in (p.name, *p.aliases)))

    @property
    def name_cvx(self) -> str | None:
        """The code reported for the entry's own name and aliases (not a product's)."""
        return self.generic_cvx if self.products else self.primary_cvx

    def candidate(self) -> Candidate:
        return Candidate(self.id, self.name, self.cvx, self.live)


@dataclass(frozen=True)
class Unspecified:
    """A code or generic name whose live status depends on the product: the request must say which."""

    cvx: str | None
    name: str
    aliases: tuple[str, ...]
    candidates: tuple[str, ...]
    source: str
    note: str = ""


@dataclass(frozen=True)
class Match:
    """A resolved vaccine, the CVX code to report for it and the product named (None for a generic name)."""

    vaccine: Vaccine
    cvx: str | None
    product: str | None = None


class LookupFailed(Exception):
    """A vaccine reference that does not resolve to exactly one catalog entry."""

    def __init__(self, error: FieldError):
        super().__init__(error.message)
        self.error = error


class Catalog:
    """An immutable, indexed vaccine catalog."""

    def __init__(self, version: str, vaccines: list[Vaccine], unspecified: list[Unspecified]):
        self.version = version
        self.vaccines = tuple(vaccines)
        self.unspecified = tuple(unspecified)
        self.by_id = {v.id: v for v in vaccines}
        self._by_cvx: dict[str, Vaccine | Unspecified] = {}
        self._by_name: dict[str, Vaccine | Unspecified] = {}
        # What a name reports: its CVX code and product (a product's name reports the product's own code).
        self._reported: dict[str, tuple[str | None, str | None]] = {}
        # Meaningful words of every name, for suggestions.
        self._words: list[tuple[frozenset[str], Vaccine | Unspecified]] = []
        entries: list[Vaccine | Unspecified] = [*vaccines, *unspecified]
        for entry in entries:
            codes = entry.cvx if isinstance(entry, Vaccine) else ((entry.cvx,) if entry.cvx else ())
            for code in codes:
                self._claim(self._by_cvx, code, entry)
            names = [entry.name, *entry.aliases]
            keys = {normalize(n) for n in names}
            if isinstance(entry, Vaccine):
                keys.add(normalize(entry.id))
            for key in keys - {""}:
                self._claim(self._by_name, key, entry)
                if isinstance(entry, Vaccine):
                    self._reported[key] = (entry.name_cvx, None)
            if isinstance(entry, Vaccine):
                for product in entry.products:
                    product_names = [product.name, *product.aliases]
                    names += product_names
                    for key in {normalize(n) for n in product_names} - {""}:
                        if key in self._reported and self._by_name.get(key) is entry:
                            raise ValueError(f"{entry.id}: {key!r} names both the entry and product {product.name!r}")
                        self._claim(self._by_name, key, entry)
                        self._reported[key] = (product.cvx, product.name)
            self._words += [(w, entry) for w in {meaningful_words(n) for n in names} if w]
        for item in unspecified:
            missing = [c for c in item.candidates if c not in self.by_id]
            if missing:
                raise ValueError(f"unspecified {item.name!r} names unknown candidates {missing}")
        for vaccine in vaccines:
            reported = [vaccine.name_cvx, *(p.cvx for p in vaccine.products)]
            for code in {c for c in reported if c is not None}:
                self._check_reported(vaccine, code)
        # Every entry a match key may mean, with what the spelling behind it reports: one key, several entries
        # (the id "tbe" of TicoVac and the alias "TBE vaccine" of the unspecified TBE) is an ambiguity to ask about.
        self._by_key: dict[str, list[tuple[Vaccine | Unspecified, tuple[str | None, str | None]]]] = {}
        for entry in entries:
            for spelling in self._spellings(entry):
                key = match_key(spelling)
                meanings = self._by_key.setdefault(key, [])
                if key and all(other is not entry for other, _ in meanings):
                    meanings.append((entry, self._reported.get(normalize(spelling), (None, None))))
        # The match of every name and code as the catalog spells it, worked out once: requests mostly name a
        # vaccine as the catalog does ("Shingrix", "03"), and by_name/by_cvx then skip normalizing the text.
        # Each is what the full lookup gives for that exact text (other spellings take the full lookup).
        self._name_matches: dict[str, Match] = {}
        for entry in entries:
            for spelling in self._spellings(entry):
                try:
                    self._name_matches[spelling] = self._lookup_name(spelling, "name")
                except LookupFailed:
                    continue
        self._cvx_matches: dict[str, Match] = {}
        for code, found in self._by_cvx.items():
            if isinstance(found, Vaccine) and canonical_cvx(code) == code:
                self._cvx_matches[code] = self._match_cvx(found, code)

    @staticmethod
    def _spellings(entry: Vaccine | Unspecified) -> list[str]:
        spellings = [entry.name, *entry.aliases]
        if isinstance(entry, Vaccine):
            spellings += [entry.id, *(n for p in entry.products for n in (p.name, *p.aliases))]
        return spellings

    def _check_reported(self, vaccine: Vaccine, code: str) -> None:
        # A name may only report a code of its own entry, or an unspecified code that lists the entry among its
        # candidates (Encepur reports 77 "TBE, non-US"): never a code that means another product.
        owner = self._by_cvx.get(code)
        if owner is vaccine or (isinstance(owner, Unspecified) and vaccine.id in owner.candidates):
            return
        raise ValueError(f"{vaccine.id} reports CVX {code}, which means {owner.name if owner else 'nothing here'}")

    @staticmethod
    def _claim(index: dict[str, Vaccine | Unspecified], key: str, entry: Vaccine | Unspecified) -> None:
        # A key that points at two entries would make matching depend on file order: refuse the data.
        if key in index and index[key] is not entry:
            raise ValueError(f"catalog key {key!r} is claimed by both {index[key].name!r} and {entry.name!r}")
        index[key] = entry

    def get(self, vaccine_id: str) -> Vaccine | None:
        return self.by_id.get(vaccine_id)

    def as_written(self, name: str | None, cvx: str | None) -> Match | None:
        """The match of a CVX code (when one is given) or else a name, written exactly as the catalog writes it;
        None for any other text (by_cvx or by_name then says what it means, or why it means nothing)."""
        return self._cvx_matches.get(cvx) if cvx is not None else self._name_matches.get(name or "")

    def by_cvx(self, code: str, field: str) -> Match:
        match = self._cvx_matches.get(code)
        if match is not None:
            return match
        cvx = canonical_cvx(code)
        if cvx is None:
            raise LookupFailed(FieldError(field, f'{code!r} is not a CVX code (CVX codes are numbers such as "03")'))
        entry = self._by_cvx.get(cvx)
        if entry is None:
            raise LookupFailed(FieldError(field, f"CVX {cvx} is not in the catalog", code="unknown_vaccine"))
        if isinstance(entry, Unspecified):
            raise LookupFailed(self._ambiguous([entry], field, f"CVX {cvx}"))
        return self._match_cvx(entry, cvx)

    @staticmethod
    def _match_cvx(entry: Vaccine, cvx: str) -> Match:
        products = [p.name for p in entry.products if p.cvx == cvx]
        return Match(entry, cvx, products[0] if len(products) == 1 else None)

    def recorded(self, name: str | None, cvx: str | None, field: str) -> Vaccine:
        """The vaccine a dose on record names, for the checks that only ask whether it was live: a catalog entry,
        or, for a name or code that does not say which product but whose products are all live or all non-live
        (CVX 43 'Hep B, adult', 77 TBE non-US), an entry standing for them. A code that could be either (CVX 88
        influenza) still fails: LookupFailed."""
        try:
            if cvx is not None:
                return self.by_cvx(cvx, field).vaccine
            assert name is not None
            return self.by_name(name, field).vaccine
        except LookupFailed as failed:
            entry = (
                self._by_cvx.get(canonical_cvx(cvx) or "")
                if cvx is not None
                else self._by_name.get(normalize(name or ""))
            )
            if not isinstance(entry, Unspecified) or len({self.by_id[c].live for c in entry.candidates}) != 1:
                raise
            first = self.by_id[entry.candidates[0]]
            return Vaccine(
                id=f"unspecified-{entry.cvx or normalize(entry.name)}",
                name=entry.name,
                cvx=(entry.cvx,) if entry.cvx else (),
                live=first.live,
                route=first.route,
                antigens=first.antigens,
                aliases=(),
                source=entry.source,
                note=failed.error.message,
            )

    def by_name(self, name: str, field: str) -> Match:
        match = self._name_matches.get(name)
        if match is not None:
            return match
        return self._lookup_name(name, field)

    def _lookup_name(self, name: str, field: str) -> Match:
        text = name
        found = self._by_key.get(match_key(text))
        season = None
        if not found:
            text, season = strip_season(name)
            found = self._by_key.get(match_key(text)) if season is not None else None
        if not found:
            return self._unknown_name(name, field, season)
        # A name that may mean several products asks, whatever words surround it; otherwise an exact spelling of
        # one entry wins ("RSV" and "RSV vaccine" are two entries' own names), and two entries left, it asks.
        exact = None if any(isinstance(e, Unspecified) for e, _ in found) else self._by_name.get(normalize(text))
        if isinstance(exact, Vaccine):
            return Match(exact, *self._reported[normalize(text)])
        if len(found) > 1 or isinstance(found[0][0], Unspecified):
            error = self._ambiguous([entry for entry, _ in found], field, repr(name))
            if season is not None:
                error = replace(error, message=error.message + f" (the season {season} does not change the timing)")
            raise LookupFailed(error)
        entry, (cvx, product) = found[0]
        assert isinstance(entry, Vaccine)
        return Match(entry, cvx, product)

    def _unknown_name(self, name: str, field: str, season: str | None = None) -> Match:
        suggesting = _may_suggest()
        candidates = self.suggest(strip_season(name)[0] if season else name) if suggesting else []
        raise LookupFailed(
            FieldError(
                field,
                f"no vaccine in the catalog is called {name!r}"
                + (
                    f" (without the season {season}, the name is still unknown: name the product, e.g. "
                    "'Comirnaty' or 'Fluzone'; the season does not change the timing)"
                    if season
                    else ""
                )
                + (
                    f"; did you mean {', '.join(repr(c.name) for c in candidates)}?"
                    if candidates
                    else "; GET /v1/vaccines lists the catalog"
                    + ("" if suggesting else f" (no suggestions past {SUGGESTED_NAMES_PER_CALL} unknown names)")
                ),
                candidates=tuple(candidates),
                code="unknown_vaccine",
            )
        )

    def _ambiguous(self, found: list[Vaccine | Unspecified], field: str, what: str) -> FieldError:
        """The error for a name or code that means several products: every product it may mean, as candidates."""
        ids: list[str] = []
        # The unspecified entry's own list first (its order is the catalog's), then any other entry named.
        for entry in sorted(found, key=lambda e: not isinstance(e, Unspecified)):
            ids += [entry.id] if isinstance(entry, Vaccine) else list(entry.candidates)
        candidates = tuple(self.by_id[c].candidate() for c in dict.fromkeys(ids))
        unspecified = next((e.name for e in found if isinstance(e, Unspecified)), None)
        said = f"{what} ({unspecified})" if unspecified else f"{what}, a name more than one catalog entry answers to,"
        why = (
            "whether it is live depends on the product"
            if len({c.live for c in candidates}) > 1
            else "the products differ in their dose series"
        )
        return FieldError(
            field,
            f"{said} does not say which product, and {why}. Name one of: {', '.join(c.name for c in candidates)}",
            candidates=candidates,
            code="ambiguous_vaccine",
        )

    def suggest(self, text: str, limit: int = 5) -> list[Candidate]:
        """Catalog entries whose names look like `text`, best first: for 'did you mean'.

        First the entries sharing the most meaningful words with `text` ("MMR booster" shares "mmr" with
        MMR; "booster" says nothing), then names that contain it, and only when no word is shared, names
        spelt alike (difflib), so that a misspelling still finds its vaccine.
        """
        key = normalize(text)
        if not key:
            return []
        words = meaningful_words(text)
        best: dict[int, tuple[tuple[int, int, int], Vaccine | Unspecified]] = {}
        for order, (name_words, entry) in enumerate(self._words):
            shared = len(words & name_words)
            if shared:
                # More shared words first; then names with fewer words the text lacks; then catalog order.
                score = (-shared, len(name_words - words), order)
                if id(entry) not in best or score < best[id(entry)][0]:
                    best[id(entry)] = (score, entry)
        by_words = sorted(best.values(), key=lambda item: item[0])
        if not _BOOSTER_WORDS.isdisjoint(_WORD.findall(text.casefold())):
            by_words.sort(key=lambda item: _booster_rank(item[1]))  # stable: the word order within each rank
        entries: list[Vaccine | Unspecified] = [entry for _, entry in by_words]
        keys = list(self._by_name)
        entries += [self._by_name[k] for k in keys if len(key) >= 3 and (k.startswith(key) or key in k)]
        if not by_words:
            entries += [self._by_name[k] for k in difflib.get_close_matches(key, keys, n=limit * 3, cutoff=0.6)]
        found: list[Candidate] = []
        seen: set[str] = set()
        for entry in entries:
            ids = [entry.id] if isinstance(entry, Vaccine) else list(entry.candidates)
            for vid in ids:
                if vid not in seen:
                    seen.add(vid)
                    found.append(self.by_id[vid].candidate())
        live = self._class_named(words, key)
        if live is not None:
            found = [c for c in found if c.live is live]
        return found[:limit]

    def _class_named(self, words: frozenset[str], key: str) -> bool | None:
        """Whether the text names only live or only non-live products: every catalog name all of whose words
        it contains ("Imojev", "MMR" in "MMR booster") is a product of one class. Its suggestions then keep to
        that class, so a live product is never answered with "did you mean" a non-live one (Imojev is not
        Ixiaro) or the other way round. None when it names none, or a name whose product is not known (an
        unspecified formulation such as "typhoid") or products of both classes. A text that contains no name
        but is spelt almost as one ("Pluserixx") is taken as naming it."""
        classes: set[bool] = set()
        if not any(name_words <= words for name_words, _ in self._words):
            close = difflib.get_close_matches(key, list(self._by_name), n=1, cutoff=0.85)
            entry = self._by_name[close[0]] if close else None
            return entry.live if isinstance(entry, Vaccine) else None
        for name_words, entry in self._words:
            if name_words <= words:
                if not isinstance(entry, Vaccine):
                    return None
                classes.add(entry.live)
        return classes.pop() if len(classes) == 1 else None

    def search(self, q: str | None = None, live: bool | None = None) -> list[Vaccine]:
        """Entries matching a free-text query (any name containing it) and a live filter."""
        key = normalize(q) if q else ""
        result = []
        for v in self.vaccines:
            if live is not None and v.live != live:
                continue
            codes = (*v.cvx, *(p.cvx for p in v.products if p.cvx))
            if key and not any(key in normalize(n) for n in (v.id, *v.names, *codes)):
                continue
            result.append(v)
        return result


def _booster_rank(entry: Vaccine | Unspecified) -> int:
    """A booster name's suggestions: products for adults first, those for children or of the past last."""
    words = frozenset(_WORD.findall(entry.name.casefold()))
    if words & _ADULT_WORDS:
        return 0
    return 2 if words & _NOT_ADULT_WORDS else 1
