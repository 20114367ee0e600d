"""GraphQL documents: bounded before graphql-core validates them, then cached.

The API runs inside Saleor's worker processes, so a document that is cheap to send
and dear to validate would hold a Saleor worker: graphql-core 2's validation is
quadratic in the fields of a selection set (OverlappingFieldsCanBeMerged), and its
parser recurses once per nesting level. Every document is therefore measured first,
on its raw text (length, bracket nesting: linear, no parsing) and then on its syntax
tree (fields, aliases, depth, operations, fragments), both without recursion, and an
over-limit document is refused before ``validate`` runs.

The documents the API serves are few and sent over and over (a courier's verify, a
storefront's "track my package"), so each distinct text is parsed, measured and
validated once and kept, with its validation errors, in a bounded LRU cache.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

from graphql import GraphQLError, GraphQLSchema, parse, validate
from graphql.error import GraphQLSyntaxError
from graphql.language import ast
from graphql.language.visitor import Visitor, visit

# The limits, with room to spare over the documents in docs/graphql.md, the sandbox
# story and the tests (the largest, a staff query of attempts and events, has 14
# fields, depth 3; three staff mutations in one document are the most operations).
#
# Characters of one document. The parser reads strings, comments and whitespace one
# character at a time, so its cost follows the length: 8 KiB parse in a few ms. The
# longest documented document is under 400 characters.
MAX_DOCUMENT_CHARS = 8 * 1024
# Brackets ({ and [) open at once in the raw text: selection sets plus list and
# object literals. graphql-core's parser recurses per level (RecursionError near
# 200); the API's documents open at most 5.
MAX_NESTING = 24
# Fields nested in fields, fragments followed. A verify is 3 deep, codes with their
# attempts 2, an Order through _entities 2.
MAX_DEPTH = 10
# Fields selected in the whole document, each fragment counted every time it is
# spread. Validation time grows with the square of this (50 fields of the same name
# take about 12 ms to validate on one core, 100 take 47 ms); a verify selects 5,
# the staff query in docs/graphql.md 14.
MAX_FIELDS = 50
# Aliased fields (the same, fragments counted where spread): aliases are how one
# document repeats a field; the API's documents need none.
MAX_ALIASES = 20
# Operations in one document (STAFF_ACTIONS in the tests has 3).
MAX_OPERATIONS = 10
# Nesting of the JSON variables: _entities' representations are 3 deep.
MAX_VARIABLES_DEPTH = 10

# Distinct documents kept parsed and validated. The API serves a handful; the rest
# is room for clients that format their documents differently.
CACHE_SIZE = 256
# Longer documents are served but not kept, so that the cache stays small
# (CACHE_SIZE times this, plus their syntax trees) whatever is sent.
MAX_CACHED_CHARS = 4 * 1024

TOO_COMPLEX = "QueryTooComplex"

# What the lexer skips over (strings, comments): brackets inside do not nest.
# graphql-core 2 has no block strings; a comment ends at any control character
# but tab, as in its lexer.
_SKIPPED = re.compile(r'"(?:[^"\\\n\r]|\\.)*"|#[^\x00-\x08\x0a-\x1f]*')
_NOT_BRACKET = re.compile(r"[^{}\[\]]+")
_STEP = {"{": 1, "[": 1, "}": -1, "]": -1}
# A syntax error's description up to the first quoted token or colon: past it
# graphql-core repeats part of the document (a literal, a character, a number).
_SYNTAX_DESCRIPTION = re.compile(r"^Syntax Error .*?\(\d+:\d+\) ([^\"\n:]*)")
# Counts stop growing here: fragments spread within fragments multiply.
_CAP = 10**9


class DocumentTooComplex(GraphQLError):
    def __init__(self, message: str):
        super().__init__(message, extensions={"exception": {"code": TOO_COMPLEX}})


@dataclass(frozen=True)
class Prepared:
    """A document ready to execute (``errors`` empty), or why it may not be."""

    document: ast.Document | None
    errors: tuple[GraphQLError, ...] = ()


def raw_nesting(text: str) -> int:
    """How many brackets the text opens at once, strings and comments aside.

    Linear and without recursion (the arithmetic runs in C): it must be cheap on
    the 64 KiB of nothing but brackets an attacker may send.
    """
    brackets = _NOT_BRACKET.sub("", _SKIPPED.sub("", text))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def json_depth_exceeds(value: Any, limit: int) -> bool:
    """Whether JSON ``value`` nests objects and arrays deeper than ``limit``."""
    stack = [(value, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


@dataclass
class _Counts:
    fields: int = 0
    aliases: int = 0
    depth: int = 0

    def add(self, other: _Counts, level: int) -> None:
        self.fields = min(self.fields + other.fields, _CAP)
        self.aliases = min(self.aliases + other.aliases, _CAP)
        self.depth = max(self.depth, level - 1 + other.depth)


def _measure(selection_set: ast.SelectionSet, fragments: dict[str, _Counts]) -> _Counts:
    """Fields, aliases and depth of a selection set, each spread fragment counted
    from ``fragments`` (unknown ones, which validation will refuse, as empty)."""
    counts = _Counts()
    stack = [(selection_set, 1)]
    while stack:
        selections, level = stack.pop()
        for selection in selections.selections:
            if isinstance(selection, ast.Field):
                counts.fields += 1
                counts.aliases += selection.alias is not None
                counts.depth = max(counts.depth, level)
                if selection.selection_set is not None:
                    stack.append((selection.selection_set, level + 1))
            elif isinstance(selection, ast.InlineFragment):
                stack.append((selection.selection_set, level))
            elif isinstance(selection, ast.FragmentSpread):
                spread = fragments.get(selection.name.value)
                if spread is not None:
                    counts.add(spread, level)
    return counts


def _spreads(selection_set: ast.SelectionSet) -> list[str]:
    names = []
    stack = [selection_set]
    while stack:
        for selection in stack.pop().selections:
            if isinstance(selection, ast.FragmentSpread):
                names.append(selection.name.value)
            elif selection.selection_set is not None:
                stack.append(selection.selection_set)
    return names


def _fragment_order(
    definitions: dict[str, ast.FragmentDefinition],
) -> tuple[list[str], str | None]:
    """The fragments, each after those it spreads, and a fragment on a cycle if
    there is one (measuring it would never end)."""
    spreads = {
        name: [n for n in _spreads(d.selection_set) if n in definitions]
        for name, d in definitions.items()
    }
    order: list[str] = []
    done: set[str] = set()
    for root in definitions:
        if root in done:
            continue
        path = {root}
        stack = [(root, iter(spreads[root]))]
        while stack:
            name, pending = stack[-1]
            child = next(pending, None)
            if child is None:
                stack.pop()
                path.discard(name)
                done.add(name)
                order.append(name)
            elif child in path:
                return order, child
            elif child not in done:
                path.add(child)
                stack.append((child, iter(spreads[child])))
    return order, None


def check_limits(document: ast.Document) -> DocumentTooComplex | None:
    """The first limit the parsed document exceeds, if any."""
    operations = [
        d for d in document.definitions if isinstance(d, ast.OperationDefinition)
    ]
    if len(operations) > MAX_OPERATIONS:
        return DocumentTooComplex(
            f"The document has more than {MAX_OPERATIONS} operations."
        )
    definitions: dict[str, ast.FragmentDefinition] = {}
    for definition in document.definitions:
        if isinstance(definition, ast.FragmentDefinition):
            definitions.setdefault(definition.name.value, definition)
    order, cyclic = _fragment_order(definitions)
    if cyclic is not None:
        return DocumentTooComplex(f'Fragment "{cyclic}" spreads itself.')
    fragments: dict[str, _Counts] = {}
    for name in order:
        fragments[name] = _measure(definitions[name].selection_set, fragments)

    # What validation walks: every operation, fragments expanded, and the fragments
    # no one spreads (validation refuses them, but only after walking them).
    every: list[ast.OperationDefinition | ast.FragmentDefinition] = [
        *operations,
        *definitions.values(),
    ]
    spread = {name for root in every for name in _spreads(root.selection_set)}
    roots = [*operations] + [d for n, d in definitions.items() if n not in spread]
    total = _Counts()
    for selections in [root.selection_set for root in roots]:
        total.add(_measure(selections, fragments), 1)
    if total.depth > MAX_DEPTH:
        return DocumentTooComplex(
            f"The document nests fields more than {MAX_DEPTH} deep."
        )
    if total.fields > MAX_FIELDS:
        return DocumentTooComplex(
            f"The document selects more than {MAX_FIELDS} fields."
        )
    if total.aliases > MAX_ALIASES:
        return DocumentTooComplex(f"The document has more than {MAX_ALIASES} aliases.")
    return None


def loose_string_variable(
    definition: ast.OperationDefinition, variables: dict[str, Any] | None
) -> GraphQLError | None:
    """A ``String`` variable sent as another JSON value, refused before execution.

    graphql-core 2 turns the number 48213 into the string "48213": a courier app
    that keeps codes as integers would spend an attempt on every code starting
    with 0. So String variables must be JSON strings (or null); the value itself
    is never echoed, as it may be a code.
    """
    for variable in definition.variable_definitions or ():
        name = variable.variable.name.value
        if not variables or variables.get(name) is None:
            continue
        type_: Any = variable.type
        if isinstance(type_, ast.NonNullType):
            type_ = type_.type
        value = variables[name]
        if isinstance(type_, ast.ListType):
            inner: Any = type_.type
            if isinstance(inner, ast.NonNullType):
                inner = inner.type
            values = value if isinstance(value, list) else [value]
            type_ = inner
        else:
            values = [value]
        loose = any(item is not None and not isinstance(item, str) for item in values)
        if loose and isinstance(type_, ast.NamedType) and type_.name.value == "String":
            return GraphQLError(
                f'Variable "${name}" is a String: send it as a JSON string '
                "(a number would lose its leading zeros)."
            )
    return None


class _ArgumentsNamed(Visitor):
    def __init__(self, name: str) -> None:
        self.name = name
        self.values: list[Any] = []

    def enter_Argument(self, node: ast.Argument, *args: Any) -> None:
        if node.name.value == self.name:
            self.values.append(node.value)


def gives_argument(
    document: ast.Document, name: str, variables: dict[str, Any] | None
) -> bool:
    """Whether the document passes a value (inline, or a non-null variable) to an
    argument called ``name`` anywhere, fragments included. The document is
    already bounded, so walking it is cheap."""
    found = _ArgumentsNamed(name)
    visit(document, found)
    # A variable's default value is written in the document too.
    defaults = {
        variable.variable.name.value
        for definition in document.definitions
        if isinstance(definition, ast.OperationDefinition)
        for variable in definition.variable_definitions or ()
        if variable.default_value is not None
    }
    for value in found.values:
        if not isinstance(value, ast.Variable):
            return True
        if (variables or {}).get(value.name.value) is not None:
            return True
        if value.name.value in defaults:
            return True
    return False


def syntax_error(error: GraphQLSyntaxError) -> GraphQLError:
    """The error without the excerpt of the document graphql-core puts in it (a
    code typed into a broken document would come back in the answer)."""
    match = _SYNTAX_DESCRIPTION.match(error.message)
    description = match.group(1).strip(" ,.") if match else ""
    return GraphQLError(
        f"Syntax Error: {description or 'the document is not valid GraphQL'}.",
        source=error.source,
        positions=error.positions,
    )


def prepare(schema: GraphQLSchema, text: str) -> Prepared:
    """Parse, bound and validate ``text``, uncached."""
    if len(text) > MAX_DOCUMENT_CHARS:
        return _refused(f"The document is longer than {MAX_DOCUMENT_CHARS} characters.")
    if raw_nesting(text) > MAX_NESTING:
        return _refused(f"The document nests more than {MAX_NESTING} brackets deep.")
    try:
        document = parse(text)
    except GraphQLSyntaxError as error:
        return Prepared(None, (syntax_error(error),))
    except RecursionError:  # not expected below MAX_NESTING; never a 500
        return _refused("The document nests too deeply.")
    too_complex = check_limits(document)
    if too_complex is not None:
        return Prepared(None, (too_complex,))
    return Prepared(document, tuple(validate(schema, document)))


def _refused(message: str) -> Prepared:
    return Prepared(None, (DocumentTooComplex(message),))


class DocumentCache:
    """Prepared documents of one schema, by their exact text, least recently used
    evicted first.

    Bound to one schema, so a document validated against it is never served for
    another; validation depends on nothing else (not the host, channel or caller).
    Only validated documents are kept: refusing the others costs less than a
    lookup would save. Shared by Saleor's worker threads, hence the lock; two
    threads missing the same text at once both prepare it, which is harmless.
    """

    def __init__(
        self,
        schema: GraphQLSchema,
        size: int = CACHE_SIZE,
        max_chars: int = MAX_CACHED_CHARS,
    ):
        self.schema = schema
        self.size = size
        self.max_chars = max_chars
        self._entries: OrderedDict[str, Prepared] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, text: str) -> Prepared:
        with self._lock:
            prepared = self._entries.get(text)
            if prepared is not None:
                self._entries.move_to_end(text)
                return prepared
        prepared = prepare(self.schema, text)
        if prepared.document is not None and len(text) <= self.max_chars:
            with self._lock:
                self._entries[text] = prepared
                self._entries.move_to_end(text)
                while len(self._entries) > self.size:
                    self._entries.popitem(last=False)
        return prepared

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
