"""MSP360 (MSP Backups) client backup monitoring: sync, plan states, mappings, problems."""
