-- Runs once, when the postgres service initialises an empty data volume
-- (mounted into /docker-entrypoint-initdb.d by docker-compose.yml).
-- Temporal's auto-setup creates its own databases (temporal, temporal_visibility)
-- on the same server; abono's data lives beside them in its own database.
-- Its schema is created by abono's migrations (startAbono / `npm run migrate`), not here.
CREATE DATABASE abono;
