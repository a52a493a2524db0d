"""Email: inbound mail from SES (and, later, outbound mirroring of dialogs)."""
