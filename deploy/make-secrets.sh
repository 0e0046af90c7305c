#!/bin/sh
# Writes the secret files docker-compose.yml mounts under /run/secrets. Existing files are kept, so
# running it again never rotates a secret behind a live database. Values carry no trailing newline
# (settings read *_FILE contents verbatim).
set -eu

dir="$(dirname "$0")/secrets"
mkdir -p "$dir"
chmod 0700 "$dir"

random_hex() {
    od -An -tx1 -N32 /dev/urandom | tr -d ' \n'
}

write_once() {
    name="$1"
    value="$2"
    if [ -e "$dir/$name" ]; then
        echo "keeping $dir/$name"
        return
    fi
    (umask 077 && printf '%s' "$value" >"$dir/$name")
    # Compose v1 bind-mounts the file itself: the containers' users (app uid 10001, postgres,
    # coturn's nobody) must be able to read it. The 0700 directory keeps other host users out.
    chmod 0444 "$dir/$name"
    echo "wrote $dir/$name"
}

write_once secret_key "$(random_hex)$(random_hex)"
write_once turn_secret "$(random_hex)"
write_once postgres_password "$(random_hex)"
write_once database_url "postgres://esanjeevani:$(cat "$dir/postgres_password")@db:5432/esanjeevani"

if [ ! -e "$dir/sms_gateway_api_key" ]; then
    echo "missing $dir/sms_gateway_api_key: write the SMS gateway's API key there" >&2
    echo "  (printf '%s' \"\$KEY\" > $dir/sms_gateway_api_key && chmod 0444 $dir/sms_gateway_api_key)" >&2
    exit 1
fi
