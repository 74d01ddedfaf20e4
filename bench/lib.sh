# Shared by the bench scripts: installing the peers, a local nginx, and timing.
# Source it after `cd` to the repository root; it sets WORK (a temporary folder removed
# on exit) and STEADY (the release binary).

WORK=$(mktemp -d)
chmod 755 "$WORK"   # nginx workers read the files as another user
NGINX_CONF=""
cleanup() {
  if [ -n "$NGINX_CONF" ]; then nginx -c "$NGINX_CONF" -s stop 2>/dev/null || true; fi
  local pids
  pids=$(jobs -p)
  if [ -n "$pids" ]; then kill $pids 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

need() { command -v "$1" >/dev/null 2>&1; }

# Debian packages, installed only when missing (apt-get needs root; CI machines are).
need_packages() {
  local missing=()
  need nginx || missing+=(nginx)
  need curl || missing+=(curl)
  need hyperfine || missing+=(hyperfine)
  need bc || missing+=(bc)
  [ -x /usr/bin/time ] || missing+=(time)
  if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  python3 -c 'import requests' 2>/dev/null || pip install -q requests
}

# PROFILE=profiling builds release code with symbols (for perf and callgrind).
build_steady() {
  local profile=${PROFILE:-release}
  cargo build --profile "$profile" -q --locked -p steady-cli
  STEADY=$PWD/target/$profile/steady
}

# nginx on 127.0.0.1:$1 serving $WORK/www; every path that is not a file is item.json.
start_nginx() {
  local port=$1
  mkdir -p "$WORK/www" "$WORK/logs"
  [ -f "$WORK/www/item.json" ] ||
    echo '{"id": 1, "name": "anvil", "price": 9.5, "in_stock": true}' > "$WORK/www/item.json"
  NGINX_CONF=$WORK/nginx.conf
  cat > "$NGINX_CONF" <<CONF
worker_processes 2;
pid $WORK/nginx.pid;
error_log $WORK/logs/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  sendfile on;
  default_type application/json;
  server { listen 127.0.0.1:$port; root $WORK/www; location / { try_files \$uri /item.json =404; } }
}
CONF
  nginx -c "$NGINX_CONF"
  for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/" && return; sleep 0.1; done
  echo "nginx did not start" >&2; exit 1
}

# measure NAME COMMAND...: runs it once; prints "NAME seconds peak_rss_kib".
measure() {
  local name=$1; shift
  local start end
  start=$(date +%s.%N)
  if ! /usr/bin/time -f "%M" -o "$WORK/rss" "$@" >/dev/null 2>"$WORK/err"; then
    echo "$name failed: $(cat "$WORK/err" "$WORK/rss")" >&2; exit 1
  fi
  end=$(date +%s.%N)
  echo "$name $(echo "$end - $start" | bc) $(tail -1 "$WORK/rss")"
}
