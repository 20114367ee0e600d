"""The driver's page: a shop's own driver verifies a code at the door from a phone.

Plain HTML, one script and one stylesheet, served by :func:`views.page` on every
host under ``.../saleor.delivery-otp/driver/``; it calls the same origin's GraphQL
API with the driver's key (docs/driver-page.md).
"""
