"""What the sandbox prints when it starts: where, who, and calls to copy."""

from __future__ import annotations

import json
import shlex

from graphene import relay

from ..constants import PLUGIN_ID
from .host import SandboxHost
from .shop import CHANNEL


def _curl(url: str, token: str, query: str, variables: dict[str, object]) -> str:
    body = json.dumps({"query": query, "variables": variables})
    return (
        f"curl -s {url} -H 'Content-Type: application/json' "
        f"-H 'Authorization: Bearer {token}' -d {shlex.quote(body)}"
    )


def banner(host: SandboxHost, base_url: str, new: bool) -> str:
    shop = host.shop
    url = f"{base_url}/plugins/{PLUGIN_ID}/graphql/"
    anna = shop.order_by_number("1001")
    lines = [
        f"Delivery OTP sandbox ({'new shop' if new else 'shop'} in {host.data_dir})",
        "",
        f"  API (every channel)   {url}",
        f"  API (one channel)     {base_url}/plugins/channel/{CHANNEL}/"
        f"{PLUGIN_ID}/graphql/",
        f"  Driver's page         {base_url}/plugins/{PLUGIN_ID}/driver/",
        f"  E-mails               {host.data_dir / 'mail'}/*.eml",
        "",
        "Tokens (Authorization: Bearer <token>):",
    ]
    for token, who in shop.tokens.items():
        lines.append(f"  {who.kind:<9} {who.name:<16} {token}")
    lines += ["", "Orders:"]
    for order in shop.orders:
        parcels = ", ".join(p.tracking_number for p in order.parcels) or "not shipped"
        items = ", ".join(
            f"{line.product} {line.unit_price} EUR" for line in order.lines
        )
        lines.append(f"  {order.number}  {items}  [{parcels}]")
    lines += [
        "",
        "The customer reads her codes (track my package):",
        "  "
        + _curl(
            url,
            shop.token_of("customer"),
            "query($id: ID!) { orderDeliveryCodes(orderId: $id) "
            "{ status code trackingNumber expiresAt } }",
            {"id": relay.Node.to_global_id("Order", anna.id)},
        ),
        "",
        "The courier verifies at the door (put the code in):",
        "  "
        + _curl(
            url,
            shop.token_of("app"),
            "mutation($tracking: String, $code: String!) { "
            "deliveryCodeVerify(trackingNumber: $tracking, code: $code) { "
            "accepted attemptsLeft "
            "errors { code message } } }",
            {"tracking": "SBX-1001-1", "code": "000000"},
        ),
        "",
        "Staff see status and attempts, never the code: the first call with the "
        "staff token.",
        "A driver opens the driver's page on a phone and signs in with the driver key.",
        "Press Ctrl-C to stop.",
    ]
    return "\n".join(lines)
