"""A fast path for loading request bodies that are plainly valid, compiled from the marshmallow schema itself.

marshmallow stays the contract, the document and the error path: this module holds no rule of its own. It
walks a Schema's fields once, at start-up, and builds a loader that does what each field's `deserialize`
does (its `required`, `allow_none` and `load_default`, its own `_deserialize`, its `validate=` validators;
a field class that overrides any of that is called through its own `deserialize`) and calls the schema's
own `@validates_schema` hooks, without marshmallow's per-load machinery (error stores, per-field closures, nested schema loads). It never
reports an error: on the first problem of any kind it refuses (returns None) and the caller loads the body
with marshmallow, which finds and words every error. So a valid body is loaded the same either way, and an
invalid one is answered by marshmallow alone (tests/test_fastload.py holds the two equal on generated bodies,
valid and invalid).

A schema the compiler does not fully understand (data_key, attribute, pre/post_load hooks, field-level
@validates, an `unknown` policy other than RAISE, field-level pre/post_load) gets no fast path: `compile_loader`
returns None for it and every body goes through marshmallow.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, missing

# A loaded body, or None for "not plainly valid: ask marshmallow".
Loader = Callable[[Any], dict[str, Any] | None]


class _Refused(Exception):
    """Raised inside a compiled loader: the body is not plainly valid."""


def _supported(schema: Schema) -> bool:
    hooks = schema._hooks  # marshmallow's resolved decorator hooks, by tag
    unsupported = ("pre_load", "post_load", "validates")
    if any(hooks.get(tag) for tag in unsupported):
        return False
    if any(hook_many for _, hook_many, _ in hooks.get("validates_schema", [])):
        return False
    if schema.unknown != RAISE or schema.partial or schema.many:
        return False
    for field in schema.load_fields.values():
        if field.data_key is not None or field.attribute is not None:
            return False
        if getattr(field, "pre_load", None) or getattr(field, "post_load", None):
            return False
    return True


# Field.deserialize as marshmallow 4 writes it: a field class that overrides any of these gets its own
# deserialize called, as is.
_GENERIC = (
    fields.Field.deserialize,
    fields.Field._validate,
    fields.Field._validate_missing,
    fields.Field._validate_all,
)


def _generic(field: fields.Field[Any]) -> bool:
    """Whether the field's class keeps marshmallow's own deserialize and checks (the fast path does their work)."""
    kind = type(field)
    own = (kind.deserialize, kind._validate, kind._validate_missing, kind._validate_all)
    return all(mine is generic for mine, generic in zip(own, _GENERIC, strict=True))


# What a field left out of the body loads as, worked out once (`_if_absent`): marshmallow's `missing` (left out of
# the result), its load_default (called when callable: a new list each time), or one of these two.
_REFUSE = object()  # a required field: not plainly valid
_ASK_FIELD = object()  # a field class with its own deserialize: it decides, as for any other value


def _if_absent(field: fields.Field[Any]) -> Any:
    # Field.deserialize's own order for a value left out: required first, then load_default.
    if not _generic(field):
        return _ASK_FIELD
    return _REFUSE if field.required else field.load_default


def _field_step(field: fields.Field[Any], name: str) -> Callable[[Any, dict[str, Any]], Any]:
    """`field.deserialize(value, name, raw)` for a plainly valid value the body gives (a value left out is
    `_if_absent`'s), with the per-call work done once: marshmallow 4 builds a new `And` of the field's validators
    on every call (`_validate_all` is a property), and checks `None` before the field's own `_deserialize`. Here
    the validators and that setting are read once. A field class that overrides any of those methods is called
    through its own `deserialize`, for a value left out too."""
    if not _generic(field):
        return lambda value, raw: field.deserialize(value, name, raw)
    read = field._deserialize
    checks = tuple(field.validators)  # marshmallow's And calls each and fails only on a ValidationError
    allow_none = field.allow_none

    def step(value: Any, raw: dict[str, Any]) -> Any:
        # Field.deserialize's own order for a given value: null first, then the field's own reading and checks.
        if value is None:
            if allow_none:
                return None
            raise _Refused
        out = read(value, name, raw)
        for check in checks:
            check(out)
        return out

    return step


def _compile(schema: Schema) -> Callable[[Any], dict[str, Any]] | None:
    """The loader of one schema, raising _Refused or ValidationError on anything not plainly valid.

    Written out as one function per schema (its fields in their declared order, each absent field's outcome
    decided here), so that a load runs straight through the fields without a generic loop's per-field tests."""
    if not _supported(schema):
        return None
    names: dict[str, Any] = {"missing": missing, "_Refused": _Refused, "RAISE": RAISE}
    lines = [
        "def load(raw):",
        "    if type(raw) is not dict or not known.issuperset(raw):",
        "        raise _Refused",  # not an object, or an unknown field
        "    out = {}",
    ]
    for index, (name, field) in enumerate(schema.load_fields.items()):
        special: Callable[[Any], Any] | None = None
        if not _generic(field):
            pass  # a field class of its own: its own deserialize, through _field_step
        elif isinstance(field, fields.Nested) and isinstance(field.schema, Schema) and not field.many:
            inner = _compile(field.schema)
            if inner is None:
                return None
            special = _nested(field, inner)
        elif isinstance(field, fields.List) and isinstance(field.inner, fields.Nested) and not field.inner.many:
            inner = _compile(field.inner.schema)
            if inner is None:
                return None
            special = _list_of_nested(field, inner)
        lines += _field_source(field, name, f"f{index}_", special, names)
    names["known"] = frozenset(schema.load_fields)
    # The schema's own @validates_schema methods, as marshmallow calls them (after every field loaded).
    hooks = schema._hooks.get("validates_schema", [])
    if any(kwargs.get("pass_original", False) for _, _, kwargs in hooks):
        return None
    for index, (attr, _, _) in enumerate(hooks):
        names[f"validator{index}"] = getattr(schema, attr)
        lines.append(f"    validator{index}(out, partial=None, many=False, unknown=RAISE)")
    lines.append("    return out")
    exec(compile("\n".join(lines), f"<fast loader of {type(schema).__name__}>", "exec"), names)  # noqa: S102
    return names["load"]  # type: ignore[no-any-return]


def _field_source(
    field: fields.Field[Any], name: str, prefix: str, special: Callable[[Any], Any] | None, names: dict[str, Any]
) -> list[str]:
    """The lines that load one field into `out`, as Field.deserialize would; the objects they call are put in
    `names` under `prefix`. `name` is written as a string literal (repr), never as code."""
    key = repr(name)
    lines = [f"    value = raw.get({key}, missing)", "    if value is missing:"]
    if_absent = _if_absent(field)
    if if_absent is _REFUSE:
        lines.append("        raise _Refused")
    elif if_absent is _ASK_FIELD:
        names[prefix + "step"] = _field_step(field, name)
        lines += [
            f"        loaded = {prefix}step(value, raw)",
            f"        if loaded is not missing: out[{key}] = loaded",
        ]
    elif callable(if_absent):  # a new value each time (a list, say)
        names[prefix + "default"] = if_absent
        lines += [f"        loaded = {prefix}default()", f"        if loaded is not missing: out[{key}] = loaded"]
    elif if_absent is not missing:  # a fixed load_default (None, a number): the same object each time
        names[prefix + "default"] = if_absent
        lines.append(f"        out[{key}] = {prefix}default")
    else:
        lines.append("        pass")  # no load_default: left out of the result, as marshmallow does
    lines.append("    else:")
    if special is not None:
        names[prefix + "special"] = special
        lines.append(f"        out[{key}] = {prefix}special(value)")
    elif not _generic(field):
        names[prefix + "step"] = _field_step(field, name)
        lines += [
            f"        loaded = {prefix}step(value, raw)",
            f"        if loaded is not missing: out[{key}] = loaded",
        ]
    else:
        # _field_step's work, written out: null first, then the field's own reading and its validators.
        names[prefix + "read"] = field._deserialize
        checks = [f"        {prefix}check{i}(loaded)" for i in range(len(field.validators))]
        names.update({f"{prefix}check{i}": check for i, check in enumerate(field.validators)})
        # marshmallow's String reads a str as itself (str(value)): no call needed for the usual value.
        plain_string = type(field)._deserialize is fields.String._deserialize
        read = f"{prefix}read(value, {key}, raw)"
        lines += [
            "        if value is None:",
            f"            out[{key}] = None" if field.allow_none else "            raise _Refused",
            "        else:",
            f"            loaded = value if type(value) is str else {read}"
            if plain_string
            else f"            loaded = {read}",
            *["    " + check for check in checks],
            f"            if loaded is not missing: out[{key}] = loaded",
        ]
    return lines


def _nested(field: fields.Nested, inner: Callable[[Any], dict[str, Any]]) -> Callable[[Any], Any]:
    # The field's validators read once, as in _field_step (field._validate would build an And on every call).
    checks = tuple(field.validators)

    def load(value: Any) -> Any:
        if type(value) is not dict:
            raise _Refused
        out = inner(value)
        for check in checks:
            check(out)
        return out

    return load


def _list_of_nested(field: fields.List[Any], inner: Callable[[Any], dict[str, Any]]) -> Callable[[Any], Any]:
    checks = tuple(field.validators)

    def load(value: Any) -> Any:
        if type(value) is not list:
            raise _Refused
        out = [inner(item) for item in value]
        for check in checks:
            check(out)
        return out

    return load


def compile_loader(schema: Schema) -> Loader | None:
    """A loader giving `schema.load(raw)` for a plainly valid body and None for anything else; None when the
    schema is beyond what the compiler understands (then marshmallow loads every body)."""
    compiled = _compile(schema)
    if compiled is None:
        return None

    def load(raw: Any) -> dict[str, Any] | None:
        try:
            return compiled(raw)
        except (_Refused, ValidationError):
            return None

    return load
