"""How a refused query reaches the caller: a GraphQL error as Saleor words it.

Mutations answer with ``errors`` entries instead
(:class:`.mutations.DeliveryCodeMutation`).
"""

from __future__ import annotations

from graphql import GraphQLError

from ..exceptions import PermissionDenied

NO_ACCESS = "You do not have access to this order's codes."


def permission_denied(error: PermissionDenied | None = None) -> GraphQLError:
    """Saleor's refusal: the message, and ``PermissionDenied`` in the extensions."""
    message = error.message if error is not None else NO_ACCESS
    return GraphQLError(message, extensions={"exception": {"code": "PermissionDenied"}})
