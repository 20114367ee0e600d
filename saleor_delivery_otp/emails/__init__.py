"""The customer's e-mails: the delivery-code e-mail and, in single-e-mail mode, the
order confirmation with the code in it. Templates, rendering, sending."""
