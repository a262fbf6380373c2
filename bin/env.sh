# Shared configuration for bin/ scripts: the same defaults as config/settings.py.
export DATABASE_URL="${DATABASE_URL:-postgis://postgres:postgres@127.0.0.1:5432/fleetwatch}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
export DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-config.settings}"
export PLAYWRIGHT_CHROMIUM="${PLAYWRIGHT_CHROMIUM:-/usr/bin/chromium}"

# Split the URLs into the parts the shell tools need.
_db="${DATABASE_URL#*://}"
_creds="${_db%%@*}"; _rest="${_db#*@}"
DB_USER="${_creds%%:*}"; DB_PASSWORD="${_creds#*:}"; [ "$DB_PASSWORD" = "$_creds" ] && DB_PASSWORD=""
_hostport="${_rest%%/*}"; DB_NAME="${_rest#*/}"; DB_NAME="${DB_NAME%%\?*}"
DB_HOST="${_hostport%%:*}"; DB_PORT="${_hostport#*:}"; [ "$DB_PORT" = "$_hostport" ] && DB_PORT=5432
DATABASE_URL_PSQL="postgresql://${_creds}@${_hostport}/${DB_NAME}"
PG_ADMIN_URL="postgresql://${_creds}@${_hostport}/postgres"
_r="${REDIS_URL#*://}"; _r="${_r##*@}"; _r="${_r%%/*}"
REDIS_HOST="${_r%%:*}"; REDIS_PORT="${_r#*:}"; [ "$REDIS_PORT" = "$_r" ] && REDIS_PORT=6379
export DB_USER DB_PASSWORD DB_NAME DB_HOST DB_PORT DATABASE_URL_PSQL PG_ADMIN_URL REDIS_HOST REDIS_PORT
