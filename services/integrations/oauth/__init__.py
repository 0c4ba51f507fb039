"""OAuth refresh broker: valid access tokens, single-flight refresh, rotated tokens kept."""
