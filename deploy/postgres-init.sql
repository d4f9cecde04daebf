-- Runs once, when the postgres service initialises an empty data volume
-- (mounted into /docker-entrypoint-initdb.d by docker-compose.yml).
-- Temporal's two databases and abono's live on the same server. Temporal's schemas are
-- set up by the temporal-schema service (its schema tool); abono's by its migrations
-- (startAbono / `npm run migrate`), not here.
CREATE DATABASE temporal;
CREATE DATABASE temporal_visibility;
CREATE DATABASE abono;
