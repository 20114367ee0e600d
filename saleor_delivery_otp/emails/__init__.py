"""The delivery-code e-mail: rendering and sending."""
