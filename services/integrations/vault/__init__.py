"""The credential vault: key material, field sealing, the running app's keys (no HTTP here)."""
