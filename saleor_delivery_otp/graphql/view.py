"""The HTTP side of the API: JSON in, JSON out, Saleor-style errors, no tracebacks.

Host-agnostic: the Saleor plugin calls :func:`handle` from its ``webhook()``, the
sandbox from its own URL. Authentication is the host's (Saleor's JWTs and app
tokens in ``Authorization: Bearer``), except for driver keys (``dk_...``), which
every host shares (:mod:`saleor_delivery_otp.drivers`).
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from graphql import GraphQLError
from graphql.execution import ExecutionResult, execute
from graphql.execution.middleware import MiddlewareManager
from graphql.language.ast import OperationDefinition
from graphql.utils.get_operation_ast import get_operation_ast
from promise import Promise, is_thenable

from .. import drivers
from ..ports import Host
from . import documents
from .context import RequestContext
from .reporting import request_kept_out_of_error_events
from .schema import schema

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
# Operations in one batched request. Each is bounded (documents.py), so a request
# costs at most this many times the dearest document; Apollo Client batches 10.
MAX_BATCH = 10
INTERNAL_ERROR = "Internal server error."
# graphql-core repeats a bad argument value in its message: for a code typed as a
# number that would echo the code. Keep the message, drop the value.
_ECHOED_VALUE = re.compile(
    r'^(Argument|Variable) ("[^"]*") (?:of required type "[^"]*" was not provided'
    r"|got invalid value|has invalid value).*",
    re.DOTALL,
)


class BadRequest(Exception):
    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status


# Parsed and validated documents, by their text (documents.py).
DOCUMENTS = documents.DocumentCache(schema)


def handle(request: HttpRequest, *, host: Host, channel: str | None) -> HttpResponse:
    with request_kept_out_of_error_events():
        response = _handle(request, host=host, channel=channel)
    # Every answer is the caller's own (a code, a refusal): no cache may keep it.
    response["Cache-Control"] = "no-store"
    return response


def _handle(request: HttpRequest, *, host: Host, channel: str | None) -> HttpResponse:
    if request.method not in ("GET", "POST"):
        response = _error_response("Use POST, or GET for queries.", 405)
        response["Allow"] = "GET, POST"
        return response
    try:
        operations, batched = _operations(request)
        # One context for the whole request: every operation of a batch shares it.
        ctx = RequestContext(
            host=host,
            # A driver key is the same on every host: checked before the host's own.
            requestor=drivers.requestor_from(request) or host.requestor(request),
            channel=channel,
        )
        results = [_execute(operation, ctx, request.method) for operation in operations]
    except BadRequest as error:
        return _error_response(error.message, error.status)
    if batched:
        return JsonResponse([body for body, _ in results], safe=False)
    body, status = results[0]
    return JsonResponse(body, status=status)


def _json(text: str | bytes, too_deep: str) -> Any:
    try:
        return json.loads(text)
    except RecursionError:  # json's C decoder recurses per level
        raise BadRequest(too_deep) from None


def _operations(request: HttpRequest) -> tuple[list[dict[str, Any]], bool]:
    if request.method == "GET":
        variables = request.GET.get("variables")
        try:
            parsed_variables = (
                _json(variables, "Variables nest too deeply.") if variables else None
            )
        except ValueError:
            raise BadRequest("Variables must be a JSON object.") from None
        return [
            {
                "query": request.GET.get("query"),
                "variables": parsed_variables,
                "operationName": request.GET.get("operationName"),
            }
        ], False
    if len(request.body) > MAX_BODY_BYTES:
        raise BadRequest("The request body is too large.", 413)
    try:
        data = _json(request.body or b"null", "The request body nests too deeply.")
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("The request body is not valid JSON.") from None
    if isinstance(data, list):
        if not data or len(data) > MAX_BATCH:
            raise BadRequest(f"A batch holds 1 to {MAX_BATCH} operations.")
        return data, True
    return [data], False


def _execute(
    operation: Any, ctx: RequestContext, method: str
) -> tuple[dict[str, Any], int]:
    if not isinstance(operation, dict):
        return _errors_body(["Each operation must be a JSON object."]), 400
    query = operation.get("query")
    variables = operation.get("variables")
    operation_name = operation.get("operationName")
    if not isinstance(query, str) or not query.strip():
        return _errors_body(["Give a GraphQL query."]), 400
    if variables is not None and not isinstance(variables, dict):
        return _errors_body(["Variables must be a JSON object."]), 400
    if operation_name is not None and not isinstance(operation_name, str):
        return _errors_body(["operationName must be a string."]), 400
    if variables and documents.json_depth_exceeds(
        variables, documents.MAX_VARIABLES_DEPTH
    ):
        return _errors_body(
            [f"Variables nest more than {documents.MAX_VARIABLES_DEPTH} deep."]
        ), 400
    prepared = DOCUMENTS.get(query)
    if prepared.document is None or prepared.errors:
        return {"errors": [_format(error) for error in prepared.errors]}, 400
    definition = get_operation_ast(prepared.document, operation_name)
    if (
        method == "GET"
        and isinstance(definition, OperationDefinition)
        and definition.operation != "query"
    ):
        raise BadRequest("Mutations must be sent with POST.", 405)
    if method == "GET" and documents.gives_argument(
        prepared.document, "revealToken", variables
    ):
        # A URL ends up in access logs, proxies and browser history.
        raise BadRequest("Send a revealToken with POST, never in a URL.", 405)
    if isinstance(definition, OperationDefinition):
        loose = documents.loose_string_variable(definition, variables)
        if loose is not None:
            return {"errors": [_format(loose)]}, 400

    result = _run(prepared.document, ctx, variables, operation_name)
    body: dict[str, Any] = {}
    status = 200
    if result.errors:
        body["errors"] = [_format(error) for error in result.errors]
        if result.invalid:
            status = 400
    if not result.invalid:
        body["data"] = result.data
    return body, status


def _run(
    document: Any,
    ctx: RequestContext,
    variables: dict[str, Any] | None,
    operation_name: str | None,
) -> ExecutionResult:
    """Execute an already validated document (graphql-core's ``graphql()`` would
    validate it again)."""
    try:
        # Without return_promise, execute() waits for its promise.
        return execute(  # type: ignore[return-value]
            schema,
            document,
            context_value=ctx,
            variable_values=variables,
            operation_name=operation_name,
            middleware=_MIDDLEWARE,
        )
    except GraphQLError as error:
        # Before any resolver: variables that do not fit, an unknown operation.
        return ExecutionResult(errors=[error], invalid=True)
    except Exception as error:
        logger.error("Delivery-code API could not execute (%s).", type(error).__name__)
        return ExecutionResult(errors=[GraphQLError(INTERNAL_ERROR)], invalid=True)


def _format(error: Exception) -> dict[str, Any]:
    original = getattr(error, "original_error", None)
    if original is not None and not isinstance(original, GraphQLError):
        # Not expected past the middleware; say nothing of it all the same.
        formatted: dict[str, Any] = {"message": INTERNAL_ERROR}
    else:
        message = str(getattr(original, "message", None) or error)
        formatted = {
            "message": _ECHOED_VALUE.sub(r"\1 \2 has an invalid value.", message)
        }
        extensions = getattr(original or error, "extensions", None)
        if extensions:
            formatted["extensions"] = extensions
    locations = getattr(error, "locations", None)
    if locations:
        formatted["locations"] = [
            {"line": loc.line, "column": loc.column} for loc in locations
        ]
    path = getattr(error, "path", None)
    if path:
        formatted["path"] = path
    return formatted


def _mask_unexpected_errors(next_: Any, root: Any, info: Any, **args: Any) -> Any:
    """Resolver middleware: an unexpected exception becomes an opaque error here,
    before graphql-core logs it with its message (which may hold a code)."""

    def opaque(error: Exception) -> Any:
        if isinstance(error, GraphQLError):
            raise error
        logger.error(
            "Delivery-code API error in %s.%s: %s",
            info.parent_type.name,
            info.field_name,
            type(error).__name__,
        )
        raise GraphQLError(INTERNAL_ERROR) from None

    try:
        result = next_(root, info, **args)
    except Exception as error:
        return opaque(error)
    if is_thenable(result):
        return Promise.resolve(result).catch(opaque)
    return result


_MIDDLEWARE = MiddlewareManager(_mask_unexpected_errors)


def _errors_body(messages: list[str]) -> dict[str, Any]:
    return {"errors": [{"message": message} for message in messages]}


def _error_response(message: str, status: int) -> JsonResponse:
    return JsonResponse(_errors_body([message]), status=status)
