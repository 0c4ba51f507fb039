"""The credential vault's key material and field sealing (no HTTP here)."""
