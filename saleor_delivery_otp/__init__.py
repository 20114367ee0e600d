"""One-time delivery codes for valuable parcels, as a Saleor plugin."""

__version__ = "0.1.0"
