"""Retention: the GFS policy as a pure function, and applying it to rows and artifacts."""
