#!/bin/sh
# Prepares a RabbitMQ node from its environment, then runs the command (the broker).
#
#   RABBITMQ_ERLANG_COOKIE, or RABBITMQ_ERLANG_COOKIE_FILE naming a mounted secret:
#       the secret the nodes of one cluster share (and the CLI tools use); required for
#       a cluster, optional for a single node (which then makes one up).
#   RABBITMQ_DEFAULT_USER with RABBITMQ_DEFAULT_PASS or RABBITMQ_DEFAULT_PASS_FILE:
#       the administrator a fresh node creates instead of guest (who may only connect
#       from the node itself). Letters, digits and . _ ~ - only.
#
# Other settings come from files in /etc/rabbitmq/conf.d/ (deploy/rabbitmq/*.conf).
set -eu

# The value of variable $1, or else the content of the file variable ${1}_FILE names.
secret() {
    eval "value=\${$1:-}"
    eval "file=\${$1_FILE:-}"
    if [ -z "$value" ] && [ -n "$file" ]; then
        value=$(cat "$file")
    fi
    printf '%s' "$value"
}

cookie=$(secret RABBITMQ_ERLANG_COOKIE)
if [ -n "$cookie" ]; then
    # The file is read-only once written: replace it rather than write through it.
    rm -f "$HOME/.erlang.cookie"
    (umask 077 && printf '%s' "$cookie" > "$HOME/.erlang.cookie")
    chmod 400 "$HOME/.erlang.cookie"
fi
# The server reads the file; the variable would only add a deprecation warning.
unset RABBITMQ_ERLANG_COOKIE RABBITMQ_ERLANG_COOKIE_FILE

generated=/etc/rabbitmq/conf.d/05-entrypoint.conf
password=$(secret RABBITMQ_DEFAULT_PASS)
unset RABBITMQ_DEFAULT_PASS RABBITMQ_DEFAULT_PASS_FILE
if [ -n "${RABBITMQ_DEFAULT_USER:-}" ]; then
    if [ -z "$password" ]; then
        echo "docker-entrypoint: RABBITMQ_DEFAULT_USER needs RABBITMQ_DEFAULT_PASS(_FILE)" >&2
        exit 1
    fi
    case "$RABBITMQ_DEFAULT_USER$password" in
        *[!A-Za-z0-9._~-]*)
            echo "docker-entrypoint: the default user and password may hold letters, digits" \
                "and . _ ~ - only" >&2
            exit 1
            ;;
    esac
    (umask 077 && printf 'default_user = %s\ndefault_pass = %s\n' \
        "$RABBITMQ_DEFAULT_USER" "$password" > "$generated")
elif [ -w "$(dirname "$generated")" ]; then
    rm -f "$generated"
fi

exec "$@"
