"""The Saleor tier: the plugin inside a real Saleor 3.23 (see docs/saleor-plugin.md)."""
