"""The dump pipeline: stream a database out, inventory it, compress, hash and store it."""
