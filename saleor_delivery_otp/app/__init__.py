"""The Saleor App, host 3 (in progress, issue 11): the same engine, flows, API and
e-mails as the plugin, for shops on Saleor Cloud and stock Saleor images. Saleor
installs it from its manifest and feeds it signed webhooks; it never imports Saleor.
"""
