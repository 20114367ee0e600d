"""The delivery-code GraphQL API (graphene 2, as Saleor runs it)."""
