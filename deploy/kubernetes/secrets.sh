#!/usr/bin/env bash
# The Secrets and the ConfigMap that deploy/kubernetes/ refers to but never holds, made from
# .env (`make env` writes one with fresh secrets), as YAML on stdout for `kubectl apply`:
#   deploy/kubernetes/secrets.sh dev | kubectl apply -n game-platform -f -
#   ENV_FILE=production.env deploy/kubernetes/secrets.sh production | kubectl apply -n game-platform -f -
# auth-secrets (the auth pods and jobs only): SECRET_KEY, JWT_PRIVATE_KEY, DATABASE_URL,
#   REDIS_URL, EMAIL_URL. dev builds both URLs for its own PostgreSQL and Redis from
#   POSTGRES_PASSWORD and REDIS_PASSWORD; production takes them from the file.
# superuser (the migrate Job only): DJANGO_SUPERUSER_EMAIL and _PASSWORD, when both are set.
# jwt-public-keys, a ConfigMap (auth and score): JWT_PUBLIC_KEYS.
# postgres, redis (dev only): the passwords of its StatefulSets.
# Values go to kubectl through a pipe, never on a command line. Needs only kubectl, no cluster.
set -euo pipefail

overlay=${1:-}
case "$overlay" in
    dev | production) ;;
    *) echo "usage: $0 dev|production  (reads \$ENV_FILE, default .env)" >&2; exit 2 ;;
esac
env_file=${ENV_FILE:-.env}
[ -r "$env_file" ] || { echo "$0: $env_file not found: \`make env\` writes one" >&2; exit 1; }
kubectl=${KUBECTL:-kubectl}

# .env is written to be sourced (.env.example: values a shell cannot take bare are quoted).
set -a
# shellcheck disable=SC1090
. "$env_file"
set +a

require() {
    local name
    for name in "$@"; do
        [ -n "${!name:-}" ] || { echo "$0: $name is empty in $env_file" >&2; exit 1; }
        case "${!name}" in
            change-me*) echo "$0: $name in $env_file is a placeholder (\`make env\`)" >&2; exit 1 ;;
        esac
    done
}

# object secret|configmap NAME VAR...: one object holding those variables, then a separator.
object() {
    local kind=$1 name=$2 var
    shift 2
    [ "$kind" = secret ] && kind="secret generic"
    # shellcheck disable=SC2086  # "secret generic" is two words
    "$kubectl" create $kind "$name" --dry-run=client -o yaml --from-env-file=<(
        for var in "$@"; do printf '%s=%s\n' "$var" "${!var}"; done
    )
    echo ---
}

require SECRET_KEY JWT_PRIVATE_KEY JWT_PUBLIC_KEYS
if [ "$overlay" = dev ]; then
    require POSTGRES_PASSWORD REDIS_PASSWORD
    # The dev overlay's own servers (overlays/dev/postgres.yaml, redis.yaml).
    DATABASE_URL="postgres://auth:${POSTGRES_PASSWORD}@postgres:5432/auth"
    REDIS_URL="redis://:${REDIS_PASSWORD}@redis:6379/0"
    object secret postgres POSTGRES_PASSWORD
    object secret redis REDIS_PASSWORD
else
    require DATABASE_URL REDIS_URL
fi
EMAIL_URL=${EMAIL_URL:-consolemail://}
object secret auth-secrets SECRET_KEY JWT_PRIVATE_KEY DATABASE_URL REDIS_URL EMAIL_URL
if [ -n "${DJANGO_SUPERUSER_EMAIL:-}" ] && [ -n "${DJANGO_SUPERUSER_PASSWORD:-}" ]; then
    object secret superuser DJANGO_SUPERUSER_EMAIL DJANGO_SUPERUSER_PASSWORD
fi
object configmap jwt-public-keys JWT_PUBLIC_KEYS
