"""The sandbox: the plugin's API, engine and e-mails without a Saleor.

Host 2 (the first is :mod:`saleor_delivery_otp.plugin`): a small
shop kept in a JSON file, an SQLite database, e-mails written as ``.eml`` files, and
the same GraphQL endpoint on 127.0.0.1, for shop owners evaluating the plugin and
delivery partners writing their verify call.
"""
