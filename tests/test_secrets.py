"""No plain code at rest or in logs: security bar rows 3 and 17."""

import logging
import traceback
import uuid

import pytest
from django.apps import apps
from django.core import mail
from django.db import connection

from saleor_delivery_otp import codes, service, tasks
from saleor_delivery_otp.models import DeliveryCode
from saleor_delivery_otp.service import Lookup

from .conftest import COURIER, READER, STAFF, wrong_code

pytestmark = pytest.mark.django_db

KEY = "test-key-0123456789abcdef0123456789abcdef"


def every_value_the_plugin_stored():
    """Each cell of each table of this app, as text (bytes as hex and as latin-1)."""
    cells = []
    with connection.cursor() as cursor:
        for model in apps.get_app_config("saleor_delivery_otp").get_models():
            cursor.execute(f'SELECT * FROM "{model._meta.db_table}"')  # noqa: S608
            for row in cursor.fetchall():
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        value = bytes(value)
                        cells += [value.hex(), value.decode("latin-1")]
                    else:
                        cells.append(str(value))
    return cells


def full_flow(parcels, caplog, limits):
    """Purchase, two parcels, e-mails, wrong and right codes, staff actions."""
    caplog.set_level(logging.DEBUG)
    order_id = uuid.uuid4()
    issued = []
    order_code = service.issue_for_order(
        order_id, channel="eu", reader=READER, limits=limits
    ).record
    issued.append(service.open_code(order_code))
    first = service.issue_for_parcel(order_id, 11, channel="eu", limits=limits).record
    second = service.issue_for_parcel(
        order_id, 12, channel="eu", reader=READER, limits=limits
    ).record
    issued.append(service.open_code(second))
    tasks.send_code_email_task.apply(args=[str(second.pk)]).get()
    service.record_tracking(12, "TRACK-12")
    service.verify(Lookup(fulfillment_id=11), wrong_code(issued[0]), COURIER)
    service.verify(Lookup(fulfillment_id=11), issued[0], COURIER)
    for _ in range(5):
        service.verify(
            Lookup(tracking_number="TRACK-12"), wrong_code(issued[1]), COURIER
        )
    service.unlock(second.pk, actor=STAFF, reason="customer called")
    new = service.regenerate(second.pk, actor=STAFF, limits=limits)
    issued.append(service.open_code(new))
    service.reveal(order_id)
    service.revoke(order_id, reason="refunded")
    assert first.pk == order_code.pk
    return issued


def test_no_plain_code_in_any_table_or_log(parcels, caplog, limits):
    issued = full_flow(parcels, caplog, limits)

    stored = every_value_the_plugin_stored()
    assert len(stored) > 50  # the scan really read the tables
    for code in issued:
        assert not any(code in cell for cell in stored)
        assert code not in caplog.text
    assert len(mail.outbox) == 1 and issued[1] in mail.outbox[0].body


def test_sender_error_that_echoes_the_code_is_not_logged(parcels, caplog, settings):
    """Row 17: a forced exception carrying the code never reaches the logs."""
    settings.DELIVERY_OTP_EMAIL_SENDER = "tests.test_secrets.echoing_sender"
    caplog.set_level(logging.DEBUG)
    record = parcels.ship()
    code = parcels.code_of(record)

    result = tasks.send_code_email_task.apply(args=[str(record.pk)])

    assert result.failed()
    assert "SMTPDataError" in caplog.text  # the failure itself is logged
    assert code not in caplog.text and KEY not in caplog.text
    assert code not in str(result.result) and code not in repr(result.result)
    assert code not in "".join(traceback.format_exception(result.result))


def echoing_sender(record, code):
    import smtplib

    raise smtplib.SMTPDataError(554, f"rejected message containing {code}")


def test_locals_of_a_failing_verify_do_not_show_code_or_key(parcels, monkeypatch):
    """Error reporters record local variables: the code and key are masked there."""
    record = parcels.ship()
    code = parcels.code_of(record)

    def fail(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(service, "_save_verdict", fail)
    with pytest.raises(RuntimeError) as error:
        service.verify(Lookup(fulfillment_id=record.fulfillment_id), code, COURIER)

    report = "".join(
        traceback.TracebackException.from_exception(
            error.value, capture_locals=True
        ).format()
    )
    assert "candidate" in report  # the locals really are in the report
    assert code not in report
    assert KEY not in report and KEY.encode().hex() not in report


def test_plain_code_formats_as_digits_but_reprs_masked():
    code = codes.generate(6)
    assert f"{code}" == str(code) and str(code).isdigit()
    assert code not in repr(code) and repr([code]) == "['<delivery code>']"


def test_model_str_and_repr_hide_secrets(parcels):
    record = parcels.ship()
    code = parcels.code_of(record)
    record = DeliveryCode.objects.get(pk=record.pk)
    assert code not in str(record) and code not in repr(record)
