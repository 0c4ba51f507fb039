"""The hash-chained credential access log: append, query, verify."""
