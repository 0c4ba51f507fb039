"""A backup job's life: run, lease, final status, shutdown and the sweep of dead jobs."""
