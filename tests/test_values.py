"""The per-request value objects of the rules core (service/domain/values.py) behave as the frozen dataclasses
they replaced: every field is part of equality, hash and repr, in order; equal only to the same class; and,
compiled, a field cannot be assigned after __init__."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

import service
from service.domain.schedule import Treatment
from service.domain.windows import MID_CYCLE, PRE_START, Timing, Window

DOMAIN = Path(service.__file__).parent / "domain"


def value_classes() -> list[tuple[str, ast.ClassDef]]:
    found = []
    for source in sorted(DOMAIN.glob("*.py")):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(getattr(b, "id", None) == "Value" for b in node.bases):
                found.append((f"{source.stem}.{node.name}", node))
    return found


def test_there_are_value_classes_to_check():
    assert {"windows.Window", "windows.Timing", "planner.Plan", "schedule.DoseSchedule"} <= {
        name for name, _ in value_classes()
    }


@pytest.mark.parametrize(("name", "node"), value_classes(), ids=[name for name, _ in value_classes()])
def test_every_parameter_of_init_is_a_field_in_order_and_every_field_is_final(name, node):
    """_fields names the __init__ parameters, in order (what equality, hash and repr read), and __init__ sets
    each of them, Final, from the parameter of the same name."""
    fields = next(
        ast.literal_eval(statement.value)
        for statement in node.body
        if isinstance(statement, ast.Assign) and getattr(statement.targets[0], "id", None) == "_fields"
    )
    init = next(s for s in node.body if isinstance(s, ast.FunctionDef) and s.name == "__init__")
    parameters = [a.arg for a in init.args.args[1:]]
    assert list(fields) == parameters, name
    set_final = {
        s.target.attr: (ast.unparse(s.annotation), ast.unparse(s.value) if s.value else None)
        for s in init.body
        if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Attribute)
    }
    for field in fields:
        annotation, value = set_final[field]
        assert annotation.startswith("Final") and value == field, f"{name}.{field}"


@dataclass(frozen=True)
class FrozenWindow:
    """What Window was."""

    kind: str
    start: date
    end: date


def test_equality_hash_and_repr_are_a_frozen_dataclasses():
    a, b = (
        Window(PRE_START, date(2026, 1, 1), date(2026, 1, 31)),
        Window(PRE_START, date(2026, 1, 1), date(2026, 1, 31)),
    )
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert a != Window(MID_CYCLE, date(2026, 1, 1), date(2026, 1, 31))
    assert a != Window(PRE_START, date(2026, 1, 1), date(2026, 1, 30))
    assert a != ("pre_start", date(2026, 1, 1), date(2026, 1, 31)) and a != FrozenWindow(PRE_START, a.start, a.end)
    assert repr(a) == repr(FrozenWindow(PRE_START, a.start, a.end)).replace("FrozenWindow", "Window")
    timing = Timing(PRE_START, (a,), "why", ("rule",))
    assert timing.notes == () and timing.delay_start_to is None
    assert timing == Timing(status=PRE_START, windows=(b,), reason="why", rules=("rule",))
    assert timing != Timing(PRE_START, (a,), "why", ("rule",), notes=("a note",))


def test_replaced_keeps_what_it_is_not_given():
    timing = Timing(PRE_START, (), "why", ("r1",), date(2026, 3, 1), date(2026, 9, 1), ("note",))
    changed = timing.replaced(status="avoid", windows=(), reason="because")
    assert changed == Timing("avoid", (), "because", ("r1",), date(2026, 3, 1), date(2026, 9, 1), ("note",))
    assert timing.replaced(status="avoid", windows=(), reason="because", rules=("r2",)).rules == ("r2",)


@pytest.mark.skipif(not service.NATIVE, reason="the pure Python leaves assignments to mypy (make lint)")
def test_compiled_fields_cannot_be_assigned():
    window = Window(PRE_START, date(2026, 1, 1), date(2026, 1, 31))
    with pytest.raises(AttributeError):
        window.end = date(2027, 1, 1)  # type: ignore[misc]
    treatment = Treatment("ofatumumab", (date(2026, 1, 1),))
    with pytest.raises(AttributeError):
        treatment.doses = ()  # type: ignore[misc]
    assert window.end == date(2026, 1, 31) and treatment.doses == (date(2026, 1, 1),)
