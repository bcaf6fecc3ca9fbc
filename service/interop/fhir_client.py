"""Reading the EHR's FHIR server for a CDS Hooks call whose prefetch is missing or short.

CDS Hooks 2.0 ("FHIR Resource Access"): when the client sends `fhirServer` and `fhirAuthorization`, a service
may read what it needs beyond the prefetch. This module runs the service's own prefetch queries there, follows
a searchset's `next` pages, and reads a Medication a medicationReference points to.

Bounds: one deadline for everything one hook call reads (PLANNER_CDS_FHIR_SECONDS), each HTTP exchange given
what is left of it, and at most MAX_PAGES pages per search. What cannot be had in time is not guessed: the
search stays unread (412, or the prefetch's own blind spots on the cards).

The access token goes only to the FHIR server's own origin, only over https (or to a loopback address, for a
server on the same machine), and is never logged; neither is any URL (it holds the patient's id).
"""

from __future__ import annotations

import ipaddress
import logging
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

log = logging.getLogger("service.cds_hooks")
# urllib3 logs every URL it fetches at DEBUG, and these URLs hold the patient's id: kept quiet whatever the
# service's log level.
logging.getLogger("urllib3").setLevel(logging.WARNING)
MAX_PAGES = 20  # 20 pages of a search is thousands of records; a longer one is reported as not fully read
FHIR_ACCEPT = "application/fhir+json, application/json;q=0.9"


class FetchFailed(Exception):
    """What the FHIR server could not give, in words safe for a card or a problem (no URL, no token)."""


def _loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


@dataclass
class FhirServer:
    """One hook call's view of the EHR's FHIR server: its base URL, the bearer token, and the time left."""

    base: str
    token: str
    deadline: float
    session: Any = None

    @classmethod
    def from_request(cls, body: dict[str, Any], seconds: float, trusted: bool) -> FhirServer | None:
        """The server a hook request names with its authorization, or None when it names none (CDS Hooks 2.0: a
        service reads the FHIR server when the client sends both fhirServer and fhirAuthorization). `trusted`:
        the call carried a JWT this service verified; without one, only a loopback server is read. FetchFailed:
        named, but unusable."""
        server = body.get("fhirServer")
        if server is None:
            return None
        if body.get("fhirAuthorization") is None:
            raise FetchFailed("fhirServer was given without fhirAuthorization")
        if not isinstance(server, str):
            raise FetchFailed("fhirServer is not a URL")
        parts = urlsplit(server)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise FetchFailed("fhirServer is not an http(s) URL")
        if parts.scheme == "http" and not _loopback(parts.hostname):
            raise FetchFailed("fhirServer is not https: the access token is not sent in the clear")
        if not trusted and not _loopback(parts.hostname):
            # Without CDS Hooks authorization anyone could make the service fetch a URL of their choosing.
            raise FetchFailed("fhirServer is read only for CDS clients this service authenticates (JWT)")
        auth = body["fhirAuthorization"]
        if not isinstance(auth, dict) or not isinstance(auth.get("access_token"), str) or not auth["access_token"]:
            raise FetchFailed("fhirAuthorization has no access_token")
        if str(auth.get("token_type", "Bearer")).lower() != "bearer":
            raise FetchFailed("fhirAuthorization.token_type is not Bearer")
        return cls(server.rstrip("/"), auth["access_token"], time.monotonic() + seconds)

    def _same_origin(self, url: str) -> bool:
        mine, theirs = urlsplit(self.base), urlsplit(url)
        return (mine.scheme, mine.netloc) == (theirs.scheme, theirs.netloc)

    def _get(self, url: str) -> dict[str, Any]:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise FetchFailed("the FHIR server took longer than this service waits")
        headers = {"Accept": FHIR_ACCEPT, "Authorization": f"Bearer {self.token}"}
        getter = self.session or requests
        try:
            answer = getter.get(url, headers=headers, timeout=(min(left, 5.0), left), allow_redirects=False)
        except requests.Timeout:
            raise FetchFailed("the FHIR server took longer than this service waits") from None
        except requests.RequestException:
            raise FetchFailed("the FHIR server could not be reached") from None
        if answer.status_code != 200:
            raise FetchFailed(f"the FHIR server answered HTTP {answer.status_code}")
        try:
            data = answer.json()
        except ValueError:
            raise FetchFailed("the FHIR server's answer is not JSON") from None
        if not isinstance(data, dict) or not isinstance(data.get("resourceType"), str):
            raise FetchFailed("the FHIR server's answer is not a FHIR resource")
        return data

    def search(self, query: str) -> dict[str, Any]:
        """A search (`Type?params`) as one searchset Bundle, every page's entries in it. A search with more
        pages than MAX_PAGES keeps its last `next` link, so the reader reports what was not read."""
        url = f"{self.base}/{query}"
        bundle = self._get(url)
        if bundle["resourceType"] != "Bundle":
            return bundle  # an OperationOutcome: the reader says the search failed
        entries = list(bundle.get("entry") or [])
        for _ in range(MAX_PAGES - 1):
            following = _next_link(bundle)
            if following is None:
                break
            following = urljoin(url + "/", following) if not urlsplit(following).scheme else following
            if not self._same_origin(following):
                raise FetchFailed("the FHIR server's next page is on another server; the token is not sent there")
            bundle = self._get(following)
            if bundle["resourceType"] != "Bundle":
                raise FetchFailed("a later page of the search is not a Bundle")
            entries += bundle.get("entry") or []
        merged = {k: v for k, v in bundle.items() if k not in ("entry", "link")}
        following = _next_link(bundle)
        merged["link"] = [{"relation": "next", "url": following}] if following else []
        merged["entry"] = entries
        return merged

    def read(self, reference: str) -> dict[str, Any] | None:
        """The resource a reference names (`Type/id`, or a full URL on this server); None when it cannot be had."""
        url = reference if urlsplit(reference).scheme else f"{self.base}/{reference}"
        if not self._same_origin(url):
            return None
        try:
            return self._get(url)
        except FetchFailed as failed:
            log.info(f"fhir read failed: {failed}")
            return None


def _next_link(bundle: dict[str, Any]) -> str | None:
    for link in bundle.get("link") or []:
        if isinstance(link, dict) and link.get("relation") == "next" and isinstance(link.get("url"), str):
            return str(link["url"])
    return None
