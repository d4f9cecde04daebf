#!/bin/sh
# Runs once, after postgres-init.sql, when the postgres service initialises an empty data volume
# (mounted into /docker-entrypoint-initdb.d by docker-compose.yml). abono's two roles (README:
# Security): the owner its migrations run as, owning its database and schema, and the runtime role
# the API and worker connect as, which the migrations grant read/write on business tables and
# insert-only on the audit log. Passwords from the environment, never in a file.
set -eu
psql --no-psqlrc -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname abono \
  -v owner_password="$ABONO_DB_OWNER_PASSWORD" -v runtime_password="$ABONO_DB_RUNTIME_PASSWORD" <<'SQL'
CREATE ROLE abono LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'owner_password';
CREATE ROLE abono_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'runtime_password';
ALTER DATABASE abono OWNER TO abono;
ALTER SCHEMA public OWNER TO abono;
SQL
