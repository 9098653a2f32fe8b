#!/usr/bin/env bash
# Interoperability check: start a throw-away Tessera server, give it an
# organisation, an application, a resource server and their secrets through
# the CLI, then let off-the-shelf Node libraries (openid-client, jose)
# discover it, get tokens, verify them and introspect them (see interop.mjs).
#
# Usage: tests/interop/run.sh [PATH_TO_TESSERA_BINARY]
#   The binary may also be given as TESSERA_BIN. Ports default to
#   127.0.0.1:18480 (main) and 127.0.0.1:18490 (ops); override with
#   INTEROP_LISTEN / INTEROP_OPS_LISTEN.
#
# Needs node (>= 20) and npm. Everything the server writes (database, keys,
# log) lives in a temporary directory that is removed on exit.
# Prints `interop: N passed, 0 failed` as its last line on success; exits
# non-zero with a message on any failure.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

die() {
  echo "interop: FAILED: $*" >&2
  exit 1
}

# shellcheck source=../lib/throwaway-server.sh
source "$here/../lib/throwaway-server.sh"

# --- inputs ---------------------------------------------------------------
bin="$(tessera_binary "${1:-}")"

command -v node >/dev/null || die "node is not installed (Node.js >= 20 is needed)"
command -v npm >/dev/null || die "npm is not installed"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
((node_major >= 20)) || die "node $(node --version) is too old; Node.js >= 20 is needed"

listen="${INTEROP_LISTEN:-127.0.0.1:18480}"
ops_listen="${INTEROP_OPS_LISTEN:-127.0.0.1:18490}"
issuer="http://$listen"

refuse_busy_ports "INTEROP_LISTEN / INTEROP_OPS_LISTEN" "$listen" "$ops_listen"

# --- workspace and cleanup ------------------------------------------------
make_workspace interop

# The server and the CLI read the same settings, so they share one database.
export TESSERA_LISTEN="$listen"
export TESSERA_OPS_LISTEN="$ops_listen"
export TESSERA_ISSUER="$issuer"
export TESSERA_DATABASE_URL="sqlite://$work/tessera.db"
export TESSERA_KEYS_DIR="$work/keys"

# --- client libraries -------------------------------------------------------
# Exact versions from package-lock.json; fails if the lockfile is out of date.
echo "interop: installing the Node client libraries (npm ci)"
(cd "$here" && npm ci --silent --no-audit --no-fund) || die "npm ci failed in $here"

# --- server -----------------------------------------------------------------
echo "interop: starting $bin serve on $listen (ops $ops_listen), data in $work"
start_server "$ops_listen"

# --- fixtures through the CLI -------------------------------------------------
org_id="$(tessera org create --name InteropTest --country NL | json_field id)" ||
  die "no id in the output of 'tessera org create'"
client_id="$(tessera app create --org "$org_id" --api SMC --permission search-match-sandbox | json_field client_id)" ||
  die "no client_id in the output of 'tessera app create'"
client_secret="$(tessera secret create --client-id "$client_id" --name "Secret by interop" | json_field secret)" ||
  die "no secret in the output of 'tessera secret create'"
rs_client_id="$(tessera app create --org "$org_id" --api SMC --kind resource-server | json_field client_id)" ||
  die "no client_id in the output of 'tessera app create --kind resource-server'"
rs_client_secret="$(tessera secret create --client-id "$rs_client_id" --name "Secret by interop" | json_field secret)" ||
  die "no secret in the output of 'tessera secret create'"
echo "interop: created organisation $org_id, application $client_id, resource server $rs_client_id and their secrets"

# --- the check ------------------------------------------------------------------
if ! (cd "$here" && ISSUER="$issuer" CLIENT_ID="$client_id" CLIENT_SECRET="$client_secret" \
  RS_CLIENT_ID="$rs_client_id" RS_CLIENT_SECRET="$rs_client_secret" \
  AUDIENCE="https://sandbox.registry.example/search-match" SCOPE="search-match-sandbox" \
  OTHER_SCOPE="search-match-production" node interop.mjs); then
  die "one or more interoperability checks failed (see above)"
fi
