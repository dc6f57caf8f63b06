#!/bin/bash
# PostgreSQL's first start (docker-entrypoint-initdb.d): one database and one owner role
# per service, each with its password from the environment (deploy/.env). A service's
# role can reach only its own database.
set -euo pipefail

# PORTAL_DATABASES lets a test create databases under other names.
for service in ${PORTAL_DATABASES:-identity catalog dossier notify}; do
  var="${service^^}_DB_PASSWORD"
  password="${!var:?$var is not set: run 'python -m deploy.compose_env' first}"
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v role="$service" -v password="$password" <<'SQL'
CREATE ROLE :"role" LOGIN PASSWORD :'password';
CREATE DATABASE :"role" OWNER :"role";
REVOKE ALL ON DATABASE :"role" FROM PUBLIC;
SQL
done
