"""The credential vault: stored rows, key material, sealing, the running app's keys (no HTTP)."""
