"""Small builders shared by the domain tests."""

from __future__ import annotations

from datetime import date, timedelta


def d(text: str) -> date:
    return date.fromisoformat(text)


def days(n: int) -> timedelta:
    return timedelta(days=n)
