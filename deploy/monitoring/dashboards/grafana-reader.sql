-- The login of Grafana's MySQL data source for the msp-backups, msp-vault and msp-insights
-- dashboards: SELECT on the columns their panels read and nothing else (no credential, token,
-- note, purpose or error text), and a 10-second bound on each statement so a wide time range cannot hold the
-- database. Replace `msp` with your database, change-me with a generated password, and run
-- it as an administrator. tests/deploy/test_dashboards.py runs every panel as this login.
CREATE USER 'grafana_reader'@'%' IDENTIFIED BY 'change-me' WITH MAX_STATEMENT_TIME 10;
GRANT SELECT ON `msp`.learning_metrics TO 'grafana_reader'@'%';
GRANT SELECT (id, name) ON `msp`.clients TO 'grafana_reader'@'%';
GRANT SELECT (
  backup_started_at, backup_completed_at, backup_type, database_name, status,
  verification_status, file_size_bytes, storage
) ON `msp`.backup_log TO 'grafana_reader'@'%';
GRANT SELECT (action, outcome, created_at) ON `msp`.credential_access_log TO 'grafana_reader'@'%';
