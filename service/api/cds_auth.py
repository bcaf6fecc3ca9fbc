"""CDS Hooks 2.0 authorization: the EHR signs a JWT for every call, and this service verifies it.

The specification (https://cds-hooks.hl7.org/2.0/#trusting-cds-clients): the EHR sends
`Authorization: Bearer <JWT>`, signed with the EHR's private key; its header names the key (`kid`, required)
and its claims are `iss` (the EHR), `aud` (the CDS service's endpoint URL), `exp` (a number: at most 5 minutes
ahead), `iat` (a number), `jti` (a string, unique per call) and `sub`. A service must check the signature
against keys it trusts for that issuer, and refuse a replayed `jti`.

Here:
- keys are configured, never fetched (a jku header is not followed): PLANNER_CDS_JWKS is a JWKS (`{"keys": [...]}`)
  trusted for every allowed issuer, or an object mapping each issuer to its own JWKS (recommended with more
  than one EHR, so that one EHR's key cannot sign as another), given inline as JSON or as a file path;
- PLANNER_CDS_ISSUERS is the allow-list of `iss` values;
- `aud` must be the endpoint called: PLANNER_PUBLIC_BASE_URL + /cds-services/<id> (for a feedback post, its
  own URL or the service's); the base alone is not an endpoint and is refused;
- the header must name its key (`kid`), and the key must be one of that issuer's;
- `exp` and `iat` must be JSON numbers and `jti` a string, as the specification types them (PyJWT alone
  would read a numeric string as a date);
- only asymmetric algorithms (RS/ES/PS 256-512): an `alg` of none or HS* is refused whatever the key;
- `jti` values are remembered until their token expires; a second use is refused. Under gunicorn the memory
  is shared by every worker of the server (service.security.SharedReplays); replicas do not share it, so a
  replay to another pod is possible within the token's lifetime of 5 minutes or less.

Verification is on when the operator turns authentication on (PLANNER_API_KEYS) or names CDS issuers. On but
not configured (no keys or no issuers): every call is refused, never let through.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from jwt import PyJWK, PyJWKSet

from service.security import SharedReplays, shared_replays

ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512"]
MAX_LIFETIME_SECONDS = 300  # the specification: exp no more than 5 minutes in the future
LEEWAY_SECONDS = 30  # clock skew between the EHR and this service


class JwtRefused(Exception):
    """Why a CDS Hooks call's JWT is not accepted (safe to return to the caller: it names no key material)."""


def load_jwks(raw: str) -> dict[str, list[PyJWK]]:
    """PLANNER_CDS_JWKS as {issuer or "*": keys}; raw is JSON or the path of a JSON file."""
    text = raw.strip()
    if not text:
        return {}
    if not text.startswith("{"):
        text = Path(text).read_text(encoding="utf-8")
    doc = json.loads(text)
    if "keys" in doc:
        return {"*": _keys(doc)}
    return {issuer: _keys(jwks) for issuer, jwks in doc.items()}


def _keys(jwks: dict[str, Any]) -> list[PyJWK]:
    if not jwks.get("keys"):
        return []  # an issuer listed with no key yet: its calls are refused, not an error at start-up
    return list(PyJWKSet.from_dict(jwks).keys)


@dataclass
class ReplayCache:
    """`jti` values seen, each kept until its token expires."""

    seen: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def first_use(self, key: str, expires: float, now: float) -> bool:
        with self.lock:
            for old in [k for k, until in self.seen.items() if until < now]:
                del self.seen[old]
            if key in self.seen:
                return False
            self.seen[key] = expires + LEEWAY_SECONDS
            return True


@dataclass
class CdsAuth:
    """The configured trust: issuers, their keys, and this service's base URL (the audience)."""

    enabled: bool
    issuers: frozenset[str]
    keys: dict[str, list[PyJWK]]
    base_url: str
    replays: ReplayCache | SharedReplays = field(default_factory=lambda: shared_replays() or ReplayCache())

    @classmethod
    def from_settings(cls, settings: dict[str, Any], base_url: str) -> CdsAuth:
        issuers = frozenset(i.strip() for i in str(settings.get("CDS_ISSUERS", "")).split(",") if i.strip())
        enabled = bool(issuers) or bool(str(settings.get("API_KEYS") or "").strip())  # unset is None
        return cls(enabled, issuers, load_jwks(str(settings.get("CDS_JWKS", ""))), base_url)

    def _keys_for(self, issuer: str) -> list[PyJWK]:
        return self.keys.get(issuer, []) + self.keys.get("*", [])

    def verify(self, token: str | None, service_id: str, now: float | None = None, *, path: str = "") -> dict[str, Any]:
        """The token's claims, or JwtRefused saying why not."""
        if token is None:
            raise JwtRefused(
                "This CDS service needs the JWT the CDS Hooks specification describes: 'Authorization: Bearer <JWT>'."
            )
        if not self.issuers or not self.keys:
            raise JwtRefused(
                "CDS Hooks authorization is on but no trusted issuer or key is configured (PLANNER_CDS_ISSUERS, PLANNER_CDS_JWKS)."
            )
        now = time.time() if now is None else now
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise JwtRefused("The bearer token is not a JWT.") from None
        issuer = unverified.get("iss")
        if not isinstance(issuer, str) or issuer not in self.issuers:
            raise JwtRefused("The JWT's issuer (iss) is not one this service trusts.")
        if header.get("alg") not in ALGORITHMS:
            raise JwtRefused("The JWT must be signed with an asymmetric algorithm (RS, ES or PS 256-512).")
        if not isinstance(header.get("kid"), str) or not header["kid"]:
            raise JwtRefused("The JWT's header must name its key (kid), as the CDS Hooks specification requires.")
        _check_types(unverified)
        family = "RSA" if header["alg"][:2] in ("RS", "PS") else "EC"
        candidates = [k for k in self._keys_for(issuer) if header["kid"] == k.key_id and k.key_type == family]
        if not candidates:
            raise JwtRefused("No trusted key of this issuer matches the JWT's key id (kid).")
        # The endpoint called: the service's URL, and for a feedback post its own URL as well.
        audience = [f"{self.base_url}/cds-services/{service_id}"]
        if path and path != f"/cds-services/{service_id}":
            audience.append(self.base_url + path)
        claims: dict[str, Any] | None = None
        for key in candidates:
            try:
                claims = jwt.decode(
                    token,
                    key.key,
                    algorithms=[header["alg"]],
                    audience=audience,
                    issuer=issuer,
                    leeway=LEEWAY_SECONDS,
                    options={"require": ["iss", "aud", "exp", "iat", "jti"]},
                )
                break
            except (jwt.InvalidSignatureError, jwt.InvalidKeyError, jwt.InvalidAlgorithmError, TypeError, ValueError):
                continue  # not this key (an issuer may list one kid for several keys while it rotates them)
            except jwt.ExpiredSignatureError:
                raise JwtRefused("The JWT has expired (exp).") from None
            except jwt.InvalidAudienceError:
                raise JwtRefused(f"The JWT's audience (aud) is not this service's endpoint ({audience[0]}).") from None
            except jwt.MissingRequiredClaimError as missing:
                raise JwtRefused(
                    f"The JWT lacks the {missing.claim!r} claim the CDS Hooks specification requires."
                ) from None
            except jwt.PyJWTError:
                raise JwtRefused("The JWT could not be verified.") from None
        if claims is None:
            raise JwtRefused("The JWT's signature does not match a trusted key of its issuer.")
        if float(claims["exp"]) > now + MAX_LIFETIME_SECONDS + LEEWAY_SECONDS:
            raise JwtRefused("The JWT's exp is more than 5 minutes ahead; the specification allows at most 5.")
        if not self.replays.first_use(f"{issuer}|{claims['jti']}", float(claims["exp"]), now):
            raise JwtRefused("This JWT (jti) has been used already: each call needs a new one.")
        return claims


def _check_types(claims: dict[str, Any]) -> None:
    """The claim types the specification gives: exp and iat NumericDates (JSON numbers), jti a string."""
    for name in ("exp", "iat"):
        value = claims.get(name)
        if name in claims and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise JwtRefused(f"The JWT's {name} must be a number (seconds since 1970), not {type(value).__name__}.")
    if "jti" in claims and (not isinstance(claims["jti"], str) or not claims["jti"]):
        raise JwtRefused("The JWT's jti must be a non-empty string.")
    aud = claims.get("aud")
    if "aud" in claims and not (
        isinstance(aud, str) or (isinstance(aud, list) and all(isinstance(a, str) for a in aud))
    ):
        raise JwtRefused("The JWT's aud must be a string (the endpoint called).")
