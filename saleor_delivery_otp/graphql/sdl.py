"""Prints the schema as SDL with its descriptions, as Saleor's own printer does.

graphql-core 2's ``print_schema`` drops descriptions; the committed
``schema.graphql`` and the federation SDL should carry them, for the people reading
it and for the gateway's composed schema.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from graphql.language.printer import print_ast
from graphql.type.definition import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLUnionType,
)
from graphql.type.schema import GraphQLSchema
from graphql.utils.ast_from_value import ast_from_value

_BUILTIN = {"String", "Boolean", "Int", "Float", "ID"}


def print_types(
    schema: GraphQLSchema,
    include: Callable[[str], bool] = lambda name: True,
    decorate: Callable[[str, str], str] = lambda name, sdl: sdl,
    hidden_fields: frozenset[str] = frozenset(),
) -> str:
    """Every named type (no introspection or built-in scalars), sorted by name,
    the root types included. ``decorate(name, sdl)`` may rewrite one type's SDL;
    fields named in ``hidden_fields`` are left out."""
    type_map = schema.get_type_map()
    names = sorted(
        name
        for name in type_map
        if not name.startswith("__") and name not in _BUILTIN and include(name)
    )
    printed = (
        decorate(name, _print_type(type_map[name], hidden_fields)) for name in names
    )
    return "\n\n".join(printed) + "\n"


def _print_type(type_: Any, hidden: frozenset[str]) -> str:
    if isinstance(type_, GraphQLScalarType):
        return _description(type_.description) + f"scalar {type_.name}"
    if isinstance(type_, GraphQLObjectType):
        interfaces = type_.interfaces
        implements = (
            " implements " + " & ".join(i.name for i in interfaces)
            if interfaces
            else ""
        )
        return (
            _description(type_.description)
            + f"type {type_.name}{implements} "
            + _fields((n, f) for n, f in type_.fields.items() if n not in hidden)
        )
    if isinstance(type_, GraphQLInterfaceType):
        return (
            _description(type_.description)
            + f"interface {type_.name} "
            + _fields(type_.fields.items())
        )
    if isinstance(type_, GraphQLUnionType):
        members = " | ".join(t.name for t in type_.types)
        return _description(type_.description) + f"union {type_.name} = {members}"
    if isinstance(type_, GraphQLEnumType):
        values = [
            _description(value.description, "  ") + f"  {value.name}"
            for value in type_.values
        ]
        return (
            _description(type_.description)
            + f"enum {type_.name} {{\n"
            + "\n".join(values)
            + "\n}"
        )
    if isinstance(type_, GraphQLInputObjectType):
        fields = [
            _description(field.description, "  ") + "  " + _input_value(name, field)
            for name, field in type_.fields.items()
        ]
        return (
            _description(type_.description)
            + f"input {type_.name} {{\n"
            + "\n".join(fields)
            + "\n}"
        )
    raise TypeError(f"Cannot print {type_!r}")


def _fields(fields: Iterable[tuple[str, Any]]) -> str:
    lines = []
    for name, field in fields:
        lines.append(
            _description(field.description, "  ")
            + f"  {name}{_args(field.args)}: {field.type}"
            + _deprecated(field.deprecation_reason)
        )
    return "{\n" + "\n\n".join(lines) + "\n}"


def _args(args: dict[str, Any]) -> str:
    if not args:
        return ""
    if not any(arg.description for arg in args.values()):
        return "(" + ", ".join(_input_value(n, a) for n, a in args.items()) + ")"
    printed = [
        _description(arg.description, "    ") + "    " + _input_value(name, arg)
        for name, arg in args.items()
    ]
    return "(\n" + "\n\n".join(printed) + "\n  )"


def _input_value(name: str, value: Any) -> str:
    printed = f"{name}: {value.type}"
    default = getattr(value, "default_value", None)
    if default is not None:
        printed += " = " + print_ast(ast_from_value(default, value.type))
    return printed


def _deprecated(reason: str | None) -> str:
    return f" @deprecated(reason: {json.dumps(reason)})" if reason else ""


def _description(text: str | None, indent: str = "") -> str:
    if not text:
        return ""
    text = text.replace('"""', '\\"""')
    if "\n" not in text and len(text) < 70:
        return f'{indent}"""{text}"""\n'
    body = "\n".join(indent + line if line else "" for line in text.splitlines())
    return f'{indent}"""\n{body}\n{indent}"""\n'
