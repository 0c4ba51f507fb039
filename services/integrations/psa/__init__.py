"""How the service reaches a client's PSA: adapter access with vault credentials (every outbound
call audited), access for the running app and request, and the PSA_* settings."""
