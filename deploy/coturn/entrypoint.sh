#!/bin/sh
# Starts coturn with the TURN REST API secret read from the turn_secret Compose secret. The secret
# goes into a private copy of the config, never into the mounted config or turnserver's arguments
# (which `ps` shows).
set -eu

secret_file="${TURN_SECRET_FILE:-/run/secrets/turn_secret}"
if [ ! -s "$secret_file" ]; then
    echo "TURN secret file $secret_file is missing or empty" >&2
    exit 1
fi

config="$(mktemp /tmp/turnserver.XXXXXX)"
cat /etc/coturn/turnserver.conf >"$config"
printf 'static-auth-secret=%s\n' "$(tr -d '\r\n' <"$secret_file")" >>"$config"

exec turnserver -c "$config" "$@"
