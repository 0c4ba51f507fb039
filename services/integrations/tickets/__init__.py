"""Ticket links between work sessions and PSA tickets, and ticket/note creation in a PSA."""
