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
