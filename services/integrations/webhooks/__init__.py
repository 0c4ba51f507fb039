"""Inbound PSA webhooks: raw body stored first, signatures verified, idempotent, processed after."""
