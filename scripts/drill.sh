#!/usr/bin/env bash
# Operational drills against a running compose stack (`docker compose up --build --wait`):
# check the networks' isolation and Redis's password; stop Redis, stop PostgreSQL, restart
# auth, kill one of three auth replicas; check what clients get and that everything heals
# without restarting the gateway. Exits non-zero at the
# first unexpected answer; leaves the stack as it found it (one replica of each service).
# Each run registers two users (the auth service allows THROTTLE_RATE_REGISTER, 10 an hour).
#   scripts/drill.sh
#   COMPOSE="docker compose -p acc" BASE_URL=http://127.0.0.1:8000 scripts/drill.sh
set -euo pipefail

BASE_URL="${BASE_URL:-http://localhost:8000}"
read -r -a compose <<<"${COMPOSE:-docker compose}"
password="Drill-operator-$RANDOM-pass"
response=$(mktemp)
trap 'rm -f "$response"' EXIT
body=""

fail() { echo "FAIL $*" >&2; exit 1; }

# call EXPECTED METHOD PATH [curl options...]: status check; the body lands in $body.
call() {
    local expected=$1 method=$2 path=$3 status
    shift 3
    status=$(curl -sS -o "$response" -w '%{http_code}' --max-time 20 -X "$method" \
        "$BASE_URL$path" "$@") || status=000
    body=$(cat "$response")
    [ "$status" = "$expected" ] || fail "$method $path: expected $expected, got $status: $body"
    echo "ok   $method $path -> $status"
}

json() { printf '%s' "$body" | sed -n "s/.*\"$1\": *\"\\([^\"]*\\)\".*/\\1/p"; }
post_json() { call "$1" POST "$2" -H 'Content-Type: application/json' -d "$3"; }
bearer() { printf 'Authorization: Bearer %s' "$access"; }

# wait_for STATUS PATH SECONDS: poll until PATH answers STATUS.
wait_for() {
    local expected=$1 path=$2 deadline=$((SECONDS + $3)) status
    while :; do
        status=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 5 "$BASE_URL$path") \
            || status=000
        if [ "$status" = "$expected" ]; then
            echo "ok   GET $path -> $status after $((SECONDS - deadline + $3)) s"
            return
        fi
        [ "$SECONDS" -lt "$deadline" ] || fail "GET $path: not $expected within $3 s (last $status)"
        sleep 0.5
    done
}

# upstreams_seen SINCE: the auth addresses the gateway's access log names since SINCE ago.
upstreams_seen() {
    "${compose[@]}" logs --since "$1" gateway 2>/dev/null \
        | grep -o '"request":"GET /api/health/[^"]*","status":200,.*"upstream_addr":"[0-9.]*:8000' \
        | sed 's/.*"upstream_addr":"\([0-9.]*\):8000/\1/' | sort -u
}

# user_new: register and log in a new user; sets $email, $access and $refresh.
user_new() {
    email="drill-$(date +%s)-$RANDOM@example.com"
    post_json 201 /api/register/ "{\"email\": \"$email\", \"password\": \"$password\"}"
    login
}

login() {
    post_json 200 /api/login/ "{\"email\": \"$email\", \"password\": \"$password\"}"
    access=$(json access_token)
    refresh=$(json refresh_token)
}

# every_endpoint: log in again, then the whole client flow, each step expected to succeed.
every_endpoint() {
    login
    call 200 GET /api/me/ -H "$(bearer)"
    call 200 GET '/score?offset=1000' -H "$(bearer)"
    post_json 200 /api/refresh/ "{\"refresh_token\": \"$refresh\"}"
    refresh=$(json refresh_token)
    post_json 200 /api/logout/ "{\"refresh_token\": \"$refresh\"}"
}

# address CONTAINER NETWORK: the address of CONTAINER on compose's NETWORK (apps, data...).
address() {
    docker inspect --format \
        '{{range $name, $n := .NetworkSettings.Networks}}{{$name}} {{$n.IPAddress}}{{"\n"}}{{end}}' \
        "$1" | awk -v suffix="_$2" 'substr($1, length($1) - length(suffix) + 1) == suffix {print $2}'
}

# reaches SERVICE HOST PORT: whether SERVICE's container opens a TCP connection to HOST:PORT.
reaches() {
    "${compose[@]}" exec -T "$1" python -c \
        "import socket, sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 2)" \
        "$2" "$3" 2>/dev/null
}

echo "== the stack answers"
wait_for 200 /api/health/ 60
user_new
every_endpoint

echo "== isolation: only auth reaches PostgreSQL and Redis; Redis wants its password"
for target in "redis 6379" "postgres 5432"; do
    read -r name port <<<"$target"
    ip=$(address "$("${compose[@]}" ps --quiet "$name")" data)
    for host in "$name" "$ip"; do
        ! reaches score "$host" "$port" || fail "the score service reaches $name at $host:$port"
        echo "ok   score cannot reach $name at $host:$port"
    done
    reaches auth "$name" "$port" || fail "the auth service cannot reach $name:$port"
done
answer=$("${compose[@]}" exec -T redis redis-cli ping 2>&1) || true
[[ "$answer" == *NOAUTH* ]] || fail "redis answered a client without its password: $answer"
echo "ok   redis-cli ping without the password -> $answer"

echo "== Redis stopped: authentication works, degraded"
"${compose[@]}" stop redis
user_new
every_endpoint
call 503 GET /api/health/
[[ "$body" == *'"cache":"unavailable"'* ]] || fail "/api/health/ does not name the cache: $body"
"${compose[@]}" start redis
wait_for 200 /api/health/ 15
every_endpoint

echo "== PostgreSQL stopped: JSON 503 with Retry-After; /score unaffected"
login
"${compose[@]}" stop postgres
for path in /api/login/ /api/register/; do
    post_json 503 "$path" "{\"email\": \"$email\", \"password\": \"$password\"}"
    [[ "$body" == '{"detail":'* ]] || fail "$path: not a JSON detail: $body"
done
call 503 GET /api/me/ -H "$(bearer)" -D "$response.headers"
grep -qi '^retry-after: [0-9]' "$response.headers" || fail "/api/me/ 503 without Retry-After"
rm -f "$response.headers"
call 200 GET '/score?offset=1000' -H "$(bearer)"
"${compose[@]}" start postgres
wait_for 200 /api/health/ 15
every_endpoint

echo "== auth stopped and started: the gateway follows without a restart"
"${compose[@]}" stop auth
status=$(curl -sS -o "$response" -w '%{http_code}' --max-time 20 "$BASE_URL/api/health/") || true
[[ "$status" == 50[24] && "$(cat "$response")" == '{"detail":'* ]] \
    || fail "GET /api/health/ with auth stopped: $status $(cat "$response")"
echo "ok   GET /api/health/ -> $status (JSON) while auth is stopped"
"${compose[@]}" start auth
wait_for 200 /api/health/ 15

echo "== three auth replicas, one stopped"
"${compose[@]}" up --detach --wait --no-recreate --scale auth=3 auth
# The gateway learns the new replicas at its next DNS lookup (valid=5s): wait until it has
# sent requests to each of the three replicas' addresses (not merely to three addresses: the
# log's window still holds the address auth had before the restart above).
replicas=$(for id in $("${compose[@]}" ps --quiet auth); do address "$id" apps; done | sort -u)
deadline=$((SECONDS + 15))
until [ -z "$(comm -23 <(echo "$replicas") <(upstreams_seen 15s))" ]; do
    [ "$SECONDS" -lt "$deadline" ] || fail "the gateway did not reach 3 auth replicas in 15 s"
    curl -sS -o /dev/null "$BASE_URL/api/health/" || true
    sleep 0.2
done
echo "ok   the gateway reaches 3 auth replicas"
victim=$("${compose[@]}" ps --quiet auth | sed -n 1p)
docker stop "$victim" >/dev/null
slow=0
for _ in $(seq 30); do
    took=$(curl -sS -o /dev/null -w '%{http_code} %{time_total}' --max-time 20 "$BASE_URL/api/health/")
    [ "${took% *}" = 200 ] || fail "GET /api/health/ with a replica down: ${took% *}"
    awk -v t="${took#* }" 'BEGIN { exit !(t > 1) }' && slow=$((slow + 1))
done
echo "ok   30 GET /api/health/ with a replica down: $slow over 1 s"
[ "$slow" -le 2 ] || fail "$slow of 30 requests took over 1 s"

docker start "$victim" >/dev/null
address=$(address "$victim" apps)  # where the gateway reaches it
deadline=$((SECONDS + 15))
until upstreams_seen 5s | grep -qx "$address"; do
    [ "$SECONDS" -lt "$deadline" ] || fail "the restarted replica ($address) got no request in 15 s"
    curl -sS -o /dev/null "$BASE_URL/api/health/" || true
    sleep 0.2
done
echo "ok   the restarted replica ($address) serves again"
"${compose[@]}" up --detach --wait --no-recreate --scale auth=1 auth
# Until its next DNS lookup the gateway still tries the removed replicas (1 s each, then
# skipped): wait for 10 quick answers in a row.
quick=0
deadline=$((SECONDS + 30))
while [ "$quick" -lt 10 ]; do
    [ "$SECONDS" -lt "$deadline" ] || fail "the gateway did not settle on one replica in 30 s"
    took=$(curl -sS -o /dev/null -w '%{http_code} %{time_total}' "$BASE_URL/api/health/") || true
    if [ "${took% *}" = 200 ] && awk -v t="${took#* }" 'BEGIN { exit !(t < 0.5) }'; then
        quick=$((quick + 1))
    else
        quick=0
    fi
done
echo "ok   back to one replica"
every_endpoint
echo "drill: all steps passed against $BASE_URL"
