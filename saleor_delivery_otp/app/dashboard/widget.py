"""The order widget: the delivery codes of one order, on the order's page in the
Dashboard (manifest mount ``ORDER_DETAILS_WIDGETS``, target WIDGET, method POST).

The Dashboard POSTs ``saleorApiUrl``, ``appId``, ``accessToken`` and ``orderId``
(saleor-dashboard ``IframePost``; :mod:`.auth` checks them). The page shows every
current code of the order in the installation's channels that the staff member
may act in: status, attempts used and left, unlocks, tracking number, events.
Never a code: the page is built from :class:`ParcelView`, which holds no field
of a code's secret (digest, sealed copy), so no template can print one.

Staff act with POST forms back to the App (unlock, regenerate, hand over without
code), each carrying the signed form token of :mod:`.auth`; the answer is the
widget again, with what happened.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from ... import access, flows
from ...exceptions import DeliveryOTPError
from ...limits import CodeLimits
from ...models import (
    AttemptOutcome,
    CodeEvent,
    CodeStatus,
    DeliveryCode,
    EventType,
    VerificationAttempt,
)
from ..host import AppHost
from . import auth, pages

logger = logging.getLogger(__name__)

# How many of each parcel's latest events the widget lists.
MAX_EVENTS = 30
ACTIONS = ("unlock", "regenerate", "handover")
_REPLACEABLE = (CodeStatus.ACTIVE, CodeStatus.LOCKED, CodeStatus.EXPIRED)
_TONE = {
    CodeStatus.ACTIVE: "info",
    CodeStatus.VERIFIED: "success",
    CodeStatus.LOCKED: "critical",
    CodeStatus.EXPIRED: "neutral",
    CodeStatus.REVOKED: "neutral",
}
_ATTEMPT_TYPES = {outcome.value: outcome.label for outcome in AttemptOutcome}


@dataclass(frozen=True)
class EventView:
    at: datetime
    what: str
    who: str
    note: str = ""


@dataclass(frozen=True)
class ParcelView:
    """What the widget shows of one code: nothing of its secret."""

    id: str
    title: str
    status: str
    status_label: str
    tone: str
    attempts: int
    max_attempts: int
    attempts_left: int
    unlocks: int
    max_unlocks: int
    tracking_number: str
    status_reason: str
    shipped_at: datetime | None
    expires_at: datetime | None
    verified_at: datetime | None
    events: tuple[EventView, ...]
    can_unlock: bool
    unlock_note: str
    can_regenerate: bool
    can_hand_over: bool


def visible_codes(session: auth.WidgetSession) -> QuerySet[DeliveryCode]:
    """The order's current codes in this installation's channels, and of those in
    the staff member's (:func:`saleor_delivery_otp.access.staff_reaches`)."""
    installation = session.installation
    rows = (
        DeliveryCode.objects.current()
        .for_order(session.order_id)
        .filter(channel__startswith=installation.channel(""))
    )
    if session.requestor.channels is not None:
        rows = rows.filter(channel__in=session.requestor.channels)
    return rows.order_by("created_at", "id")


def _actor(text: str) -> str:
    kind, _, identifier = text.partition(":")
    names = {
        "staff": "Staff",
        "app": "App",
        "driver": "Driver",
        "customer": "Customer",
        "system": "System",
    }
    name = names.get(kind, kind.capitalize() or "System")
    return f"{name} {identifier}" if identifier else name


def _history(record: DeliveryCode) -> tuple[EventView, ...]:
    """The parcel's events, its replaced codes' included, newest first."""
    same_parcel = Q(
        delivery_code__order_id=record.order_id,
        delivery_code__channel=record.channel,
    )
    if record.fulfillment_id is None:
        same_parcel &= Q(
            delivery_code__fulfillment_id__isnull=True,
            delivery_code__scope=record.scope,
        )
    else:
        same_parcel &= Q(delivery_code__fulfillment_id=record.fulfillment_id)
    labels = dict(EventType.choices)
    events = [
        EventView(
            event.created_at,
            labels.get(event.type, event.type),
            _actor(event.actor),
            event.note,
        )
        for event in CodeEvent.objects.filter(same_parcel).order_by(
            "-created_at", "-id"
        )[:MAX_EVENTS]
    ]
    attempts = [
        EventView(
            attempt.created_at,
            _ATTEMPT_TYPES.get(attempt.outcome, attempt.outcome),
            _actor(attempt.actor),
        )
        for attempt in VerificationAttempt.objects.filter(same_parcel).order_by(
            "-created_at", "-id"
        )[:MAX_EVENTS]
    ]
    merged = sorted(events + attempts, key=lambda view: view.at, reverse=True)
    return tuple(merged[:MAX_EVENTS])


def _title(record: DeliveryCode) -> str:
    if record.fulfillment_id is None:
        return "Order code (no parcel yet)"
    return f"Parcel {record.tracking_number or record.fulfillment_id}"


def _subject(record: DeliveryCode) -> str:
    """The code's parcel inside a sentence."""
    if record.fulfillment_id is None:
        return "the order code"
    return f"parcel {record.tracking_number or record.fulfillment_id}"


def parcel_views(
    session: auth.WidgetSession, host: AppHost, records: Iterable[DeliveryCode]
) -> list[ParcelView]:
    views = []
    labels = dict(CodeStatus.choices)
    for record in records:
        limits = _limits(host, record.channel)
        unlocks = record.events.filter(type=EventType.UNLOCKED).count()
        status = CodeStatus(record.status)
        unlock_note = ""
        can_unlock = status is CodeStatus.LOCKED and unlocks < limits.max_unlocks
        if status is CodeStatus.LOCKED and not can_unlock:
            unlock_note = "No unlock left for this code: regenerate it."
        views.append(
            ParcelView(
                id=str(record.pk),
                title=_title(record),
                status=status.value,
                status_label=labels[status],
                tone=_TONE.get(status, "neutral"),
                attempts=record.attempts,
                max_attempts=record.max_attempts,
                attempts_left=record.attempts_left,
                unlocks=unlocks,
                max_unlocks=limits.max_unlocks,
                tracking_number=record.tracking_number,
                status_reason=record.status_reason,
                shipped_at=record.shipped_at,
                expires_at=record.expires_at,
                verified_at=record.verified_at,
                events=_history(record),
                can_unlock=can_unlock,
                unlock_note=unlock_note,
                can_regenerate=status in _REPLACEABLE,
                can_hand_over=status in _REPLACEABLE
                and record.fulfillment_id is not None,
            )
        )
    return views


def _limits(host: AppHost, channel: str) -> CodeLimits:
    settings = host.channel_settings(channel)
    return settings.limits if settings is not None else CodeLimits.from_settings()


def _render(
    session: auth.WidgetSession,
    *,
    notice: str = "",
    failed: bool = False,
    status: int = 200,
) -> HttpResponse:
    host = AppHost(session.installation)
    parcels = parcel_views(session, host, visible_codes(session))
    return pages.render(
        "widget.html",
        {
            "parcels": parcels,
            "form_token": session.form_token(),
            "action_url": pages.url("order-widget-action"),
            "script": pages.url("dashboard-asset", name="widget.js"),
            "notice": notice,
            "failed": failed,
            "restricted": session.requestor.channels is not None,
        },
        status=status,
    )


# The Dashboard posts from its page, with no CSRF cookie or token to give; the
# Dashboard's JWT in the body is the proof (see auth).
@csrf_exempt
@xframe_options_exempt
@require_POST
def order_widget(request: HttpRequest) -> HttpResponse:
    try:
        session = auth.widget_session(request.POST)
    except auth.Refused as refused:
        return pages.refusal(refused.status, refused.message)
    return _render(session)


# The widget's own forms: the signed form token is the proof (see auth).
@csrf_exempt
@xframe_options_exempt
@require_POST
def order_widget_action(request: HttpRequest) -> HttpResponse:
    try:
        session = auth.session_from_form_token(request.POST.get("form"))
    except auth.Refused as refused:
        return pages.refusal(refused.status, refused.message)
    try:
        notice = _act(session, request.POST)
    except DeliveryOTPError as exc:
        # The engine's messages are safe to show (exceptions.py).
        return _render(session, notice=exc.message, failed=True, status=400)
    return _render(session, notice=notice)


class _NoSuchCode(DeliveryOTPError):
    code = "not_found"


def _act(session: auth.WidgetSession, form: QueryDict) -> str:
    get = form.get
    action = get("action")
    if action not in ACTIONS:
        raise _NoSuchCode("Choose unlock, regenerate or hand over.")
    try:
        record_id = uuid.UUID(str(get("record") or ""))
    except ValueError:
        raise _NoSuchCode("No such delivery code.") from None
    record = visible_codes(session).filter(pk=record_id).first()
    requestor = session.requestor
    if record is None or not access.staff_reaches(requestor, record.channel):
        raise _NoSuchCode("No such delivery code.")
    host = AppHost(session.installation)
    limits = _limits(host, record.channel)
    if action == "unlock":
        unlocked = flows.unlock(
            host, requestor, record, reason=get("reason"), limits=limits
        )
        return (
            f"Unlocked: {unlocked.attempts_left} attempts again for "
            f"{_subject(unlocked)}."
        )
    if action == "regenerate":
        order = host.order(session.order_id)
        # For the customer the old code was issued to, whatever the order says
        # now (service.regenerate keeps the pin).
        new = flows.regenerate(
            host,
            requestor,
            record,
            current_email=order.email if order is not None else "",
            limits=limits,
        )
        return f"A new code for {_subject(new)} is on its way to the customer."
    done = flows.handover_without_code(host, requestor, record, reason=get("reason"))
    return f"Recorded: {_subject(done)} handed over without code."
