"""Credential vault resource: create, update (check-and-set), list, reveal, test, expiring."""
