"""Zapier REST Hooks: subscriptions, signed deliveries through an outbox, recent samples."""
