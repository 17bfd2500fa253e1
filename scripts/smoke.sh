#!/usr/bin/env bash
# The README's walkthrough with curl, through the gateway: register, login, me, PUT me,
# score, refresh, logout, refresh refused; plus the docs, the admin and the gateway's own
# answers. Exits non-zero at the first unexpected status.
#   scripts/smoke.sh                         # against http://localhost:8000
#   BASE_URL=http://127.0.0.1:8080 scripts/smoke.sh
# Each run registers a new user (the auth service allows THROTTLE_RATE_REGISTER per hour).
set -euo pipefail

BASE_URL="${BASE_URL:-http://localhost:8000}"
email="smoke-$(date +%s)-$RANDOM@example.com"
password="Smoke-walkthrough-$RANDOM-pass"
body=""
response=$(mktemp)
trap 'rm -f "$response"' EXIT

# call EXPECTED_STATUS METHOD PATH [curl options...]: the response body lands in $body.
call() {
    local expected=$1 method=$2 path=$3 status
    shift 3
    status=$(curl -sS -o "$response" -w '%{http_code}' -X "$method" "$BASE_URL$path" "$@") \
        || status=000
    if [ "$status" != "$expected" ]; then
        echo "FAIL $method $path: expected $expected, got $status" >&2
        head -c 2000 "$response" >&2 || true
        echo >&2
        exit 1
    fi
    echo "ok   $method $path -> $status"
    body=$(cat "$response")
}

json() { printf '%s' "$body" | sed -n "s/.*\"$1\": *\"\\([^\"]*\\)\".*/\\1/p"; }
post_json() { call "$1" POST "$2" -H 'Content-Type: application/json' -d "$3"; }

call 200 GET /health
post_json 201 /api/register/ "{\"email\": \"$email\", \"password\": \"$password\"}"
post_json 200 /api/login/ "{\"email\": \"$email\", \"password\": \"$password\"}"
access=$(json access_token)
refresh=$(json refresh_token)
[ -n "$access" ] && [ -n "$refresh" ] || { echo "FAIL login: no token pair in $body" >&2; exit 1; }

call 200 GET /api/me/ -H "Authorization: Bearer $access"
call 200 PUT /api/me/ -H "Authorization: Bearer $access" -H 'Content-Type: application/json' \
    -d '{"username": "John Smith"}'
[ "$(json username)" = "John Smith" ] || { echo "FAIL PUT /api/me/: $body" >&2; exit 1; }
call 200 GET '/score?offset=1000' -H "Authorization: Bearer $access"
call 401 GET '/score?offset=1000'

post_json 200 /api/refresh/ "{\"refresh_token\": \"$refresh\"}"
refresh=$(json refresh_token)
post_json 200 /api/logout/ "{\"refresh_token\": \"$refresh\"}"
post_json 401 /api/refresh/ "{\"refresh_token\": \"$refresh\"}"

call 200 GET /api/health/
call 200 GET /score/health
call 200 GET /api/docs/
call 200 GET /api/schema/
call 200 GET /score/docs
call 200 GET /admin/login/
call 200 GET /static/admin/css/base.css
call 404 GET /no-such-page
echo "smoke: all steps passed against $BASE_URL"
