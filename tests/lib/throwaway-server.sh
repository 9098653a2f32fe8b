# Shared by tests/interop/run.sh and tests/web/run.sh, which source it:
# checking the tessera binary and the ports, and a temporary workspace that
# is removed on exit together with the server started in it.
#
# The sourcing script defines `die` and sets `server_pid` once it starts
# the server (with its log in "$work/server.log").

# The absolute path of the tessera binary given as $1 or TESSERA_BIN.
tessera_binary() {
  local bin="${1:-${TESSERA_BIN:-}}"
  [[ -n "$bin" ]] || die "no tessera binary given (usage: $0 PATH_TO_TESSERA, or set TESSERA_BIN)"
  [[ -f "$bin" && -x "$bin" ]] || die "tessera binary '$bin' does not exist or is not executable (build it with: cargo build -p tessera-cli)"
  echo "$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
}

port_in_use() { (exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null; }

# Refuses to run against whatever already listens on the addresses given
# after $1 (the variables that move them): the health check and the tests
# would silently talk to the wrong server.
refuse_busy_ports() {
  local variables="$1"
  shift
  local addr
  for addr in "$@"; do
    if port_in_use "$addr"; then
      die "$addr is already in use; stop what listens there or set $variables"
    fi
  done
}

# Creates the workspace "$work" (named after $1) and arranges for the
# server and the workspace to go on exit, showing the server log's end
# when the run failed.
make_workspace() {
  work="$(mktemp -d "${TMPDIR:-/tmp}/tessera-$1.XXXXXX")"
  server_pid=""
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

cleanup() {
  local status=$?
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if ((status != 0)) && [[ -s "$work/server.log" ]]; then
    echo "---- last lines of the server log ----" >&2
    tail -n 40 "$work/server.log" >&2
    echo "----" >&2
  fi
  rm -rf "$work"
  exit "$status"
}

# Prints field $1 of the JSON object on stdin.
json_field() {
  node -e '
    let s = "";
    process.stdin.on("data", (d) => (s += d)).on("end", () => {
      const v = JSON.parse(s)[process.argv[1]];
      if (v === undefined || v === null || v === "") process.exit(1);
      process.stdout.write(String(v));
    });' "$1"
}

# Runs the tessera CLI with --json (from the workspace, on the server's
# settings); on failure shows its stderr.
tessera() {
  local out
  if ! out="$(cd "$work" && "$bin" --json "$@" 2>"$work/cli.err")"; then
    cat "$work/cli.err" >&2
    die "'tessera $1 $2' failed"
  fi
  printf '%s' "$out"
}

# GETs a URL; succeeds on a 2xx. curl when present, else node's fetch.
http_ok() {
  if command -v curl >/dev/null; then
    curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null
  else
    node -e 'fetch(process.argv[1], { signal: AbortSignal.timeout(2000) })
      .then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' "$1"
  fi
}

# Starts "$bin serve" in the workspace (log in "$work/server.log") and waits
# up to ~30 s (a first start migrates and makes a key) for GET
# http://$1/healthz to answer 200.
start_server() {
  local ops_listen="$1" healthy=""
  # NO_COLOR: the log goes to a file that is shown on failure; keep it plain.
  (cd "$work" && NO_COLOR=1 exec "$bin" serve) >"$work/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 150); do
    if ! kill -0 "$server_pid" 2>/dev/null; then
      wait "$server_pid" 2>/dev/null || true
      server_pid=""
      die "the server exited during start-up (log below)"
    fi
    if http_ok "http://$ops_listen/healthz"; then
      healthy=1
      break
    fi
    sleep 0.2
  done
  [[ -n "$healthy" ]] || die "the server did not answer GET http://$ops_listen/healthz with 200 within 30 s"
}
