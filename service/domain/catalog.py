"""The vaccine catalog: which vaccine a request means, and whether it is live.

Names are matched case-insensitively, ignoring punctuation and spaces ("M-M-R II" = "mmr ii"). A name or
CVX code that could mean both a live and a non-live product (an "unspecified formulation") is never
resolved by guessing: it is an error that lists the specific products.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from .errors import Candidate, FieldError

_NOT_ALNUM = re.compile(r"[^a-z0-9]")


def normalize(text: str) -> str:
    """The matching key of a vaccine name: lower case letters and digits only."""
    return _NOT_ALNUM.sub("", text.casefold())


def canonical_cvx(code: str) -> str | None:
    """CVX codes are numbers written with at least two digits ("3" and "003" are "03"); None if not a code."""
    code = code.strip()
    if not code.isdigit() or len(code) > 4:
        return None
    return f"{int(code):02d}"


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

    @property
    def primary_cvx(self) -> str | None:
        return self.cvx[0] if self.cvx else None

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
    """A resolved vaccine and the CVX code to report for it."""

    vaccine: Vaccine
    cvx: str | None


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
        entries: list[Vaccine | Unspecified] = [*vaccines, *unspecified]
        for entry in entries:
            codes = entry.cvx if isinstance(entry, Vaccine) else ((entry.cvx,) if entry.cvx else ())
            for code in codes:
                self._claim(self._by_cvx, code, entry)
            keys = {normalize(entry.name), *(normalize(a) for a in entry.aliases)}
            if isinstance(entry, Vaccine):
                keys.add(normalize(entry.id))
            for key in keys - {""}:
                self._claim(self._by_name, key, entry)
        for item in unspecified:
            missing = [c for c in item.candidates if c not in self.by_id]
            if missing:
                raise ValueError(f"unspecified {item.name!r} names unknown candidates {missing}")

    @staticmethod
    def _claim(index: dict[str, Vaccine | Unspecified], key: str, entry: Vaccine | Unspecified) -> None:
        # A key that points at two entries would make matching depend on file order: refuse the data.
        if key in index and index[key] is not entry:
            raise ValueError(f"catalog key {key!r} is claimed by both {index[key].name!r} and {entry.name!r}")
        index[key] = entry

    def get(self, vaccine_id: str) -> Vaccine | None:
        return self.by_id.get(vaccine_id)

    def by_cvx(self, code: str, field: str) -> Match:
        cvx = canonical_cvx(code)
        if cvx is None:
            raise LookupFailed(FieldError(field, f'{code!r} is not a CVX code (CVX codes are numbers such as "03")'))
        entry = self._by_cvx.get(cvx)
        if entry is None:
            raise LookupFailed(FieldError(field, f"CVX {cvx} is not in the catalog", code="unknown_vaccine"))
        if isinstance(entry, Unspecified):
            raise LookupFailed(self._ambiguous(entry, field, f"CVX {cvx}"))
        return Match(entry, cvx)

    def by_name(self, name: str, field: str) -> Match:
        key = normalize(name)
        entry = self._by_name.get(key) if key else None
        if entry is None:
            return self._unknown_name(name, field)
        if isinstance(entry, Unspecified):
            raise LookupFailed(self._ambiguous(entry, field, repr(name)))
        return Match(entry, entry.primary_cvx)

    def _unknown_name(self, name: str, field: str) -> Match:
        candidates = self.suggest(name)
        raise LookupFailed(
            FieldError(
                field,
                f"no vaccine in the catalog is called {name!r}"
                + (
                    f"; did you mean {', '.join(repr(c.name) for c in candidates)}?"
                    if candidates
                    else "; GET /v1/vaccines lists the catalog"
                ),
                candidates=tuple(candidates),
                code="unknown_vaccine",
            )
        )

    def _ambiguous(self, entry: Unspecified, field: str, what: str) -> FieldError:
        candidates = tuple(self.by_id[c].candidate() for c in entry.candidates)
        why = (
            "whether it is live depends on the product"
            if len({c.live for c in candidates}) > 1
            else "the products differ in their dose series"
        )
        return FieldError(
            field,
            f"{what} ({entry.name}) does not say which product, and {why}. "
            f"Name one of: {', '.join(c.name for c in candidates)}",
            candidates=candidates,
            code="ambiguous_vaccine",
        )

    def suggest(self, text: str, limit: int = 5) -> list[Candidate]:
        """Catalog entries whose names look like `text`, best first: for 'did you mean'."""
        key = normalize(text)
        if not key:
            return []
        keys = list(self._by_name)
        ranked = [k for k in keys if len(key) >= 3 and (k.startswith(key) or key in k)]
        ranked += difflib.get_close_matches(key, keys, n=limit * 3, cutoff=0.6)
        found: list[Candidate] = []
        seen: set[str] = set()
        for k in ranked:
            entry = self._by_name[k]
            ids = [entry.id] if isinstance(entry, Vaccine) else list(entry.candidates)
            for vid in ids:
                if vid not in seen:
                    seen.add(vid)
                    found.append(self.by_id[vid].candidate())
        return found[:limit]

    def search(self, q: str | None = None, live: bool | None = None) -> list[Vaccine]:
        """Entries matching a free-text query (any name containing it) and a live filter."""
        key = normalize(q) if q else ""
        result = []
        for v in self.vaccines:
            if live is not None and v.live != live:
                continue
            if key and not any(key in normalize(n) for n in (v.id, v.name, *v.aliases, *v.cvx)):
                continue
            result.append(v)
        return result
