"""The App tier's run names: two runs at once (the tier and the App's benchmarks)
must not drop, clone or flush each other's databases."""

from __future__ import annotations

import pytest

from tests.app_tier.stack import Names, StackError


def test_the_tier_keeps_its_own_names_by_default():
    names = Names.from_env({})

    assert names == Names(
        saleor_database="saleor_apptier",
        saleor_template="saleor_apptier_template",
        app_database="delivery_otp_apptier_app",
        saleor_redis_db=13,
        app_redis_db=14,
    )


def test_the_benchmarks_defaults_name_other_databases():
    names = Names.from_env({}, suffix="_bench", redis_dbs="3,4")
    tier = Names.from_env({})

    assert names.saleor_database == "saleor_apptier_bench"
    assert names.saleor_template == "saleor_apptier_template_bench"
    assert names.app_database == "delivery_otp_apptier_app_bench"
    assert (names.saleor_redis_db, names.app_redis_db) == (3, 4)
    owned = {names.saleor_database, names.saleor_template, names.app_database}
    assert owned.isdisjoint(
        {tier.saleor_database, tier.saleor_template, tier.app_database}
    )


def test_the_environment_overrides_the_defaults():
    names = Names.from_env(
        {
            "DELIVERY_OTP_APP_TIER_DB_SUFFIX": "_mine",
            "DELIVERY_OTP_APP_TIER_REDIS_DBS": "5, 6",
        },
        suffix="_bench",
        redis_dbs="3,4",
    )

    assert names.app_database == "delivery_otp_apptier_app_mine"
    assert (names.saleor_redis_db, names.app_redis_db) == (5, 6)


@pytest.mark.parametrize("suffix", ['_x"; DROP DATABASE postgres; --', "-bench", "é"])
def test_a_suffix_that_is_not_a_plain_name_is_refused(suffix):
    with pytest.raises(StackError, match="letters, digits and '_' only"):
        Names.from_env({"DELIVERY_OTP_APP_TIER_DB_SUFFIX": suffix})


@pytest.mark.parametrize("dbs", ["3", "3,4,5", "a,b", "3,-4"])
def test_redis_databases_must_be_two_numbers(dbs):
    with pytest.raises(StackError, match="two Redis database numbers"):
        Names.from_env({"DELIVERY_OTP_APP_TIER_REDIS_DBS": dbs})


def test_one_redis_database_for_both_is_refused():
    with pytest.raises(StackError, match="names one database twice"):
        Names.from_env({"DELIVERY_OTP_APP_TIER_REDIS_DBS": "4,4"})
