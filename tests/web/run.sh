#!/usr/bin/env bash
# Browser test of the web page: start a throw-away Tessera server, create an
# organisation with an application and its old secret, a second
# organisation, two credential managers and an admin through the CLI, then
# run web.mjs in headless Chromium (Debian's /usr/bin/chromium driven by
# playwright-core), with axe-core for the accessibility checks.
#
# Usage: tests/web/run.sh [PATH_TO_TESSERA_BINARY]
#   The binary may also be given as TESSERA_BIN. Ports default to
#   127.0.0.1:18580 (main) and 127.0.0.1:18590 (ops); override with
#   WEB_LISTEN / WEB_OPS_LISTEN. Chromium: CHROMIUM (default /usr/bin/chromium).
#   Screenshots go to WEB_SCREENSHOTS, by default
#   ${CARGO_TARGET_DIR:-target}/web-screenshots (outside git).
#
# Everything the server writes (database, keys, log) lives in a temporary
# directory that is removed on exit. Prints `web: N passed, 0 failed` as its
# last line on success; exits non-zero with a message on any failure.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

die() {
  echo "web: FAILED: $*" >&2
  exit 1
}

# shellcheck source=../lib/throwaway-server.sh
source "$here/../lib/throwaway-server.sh"

bin="$(tessera_binary "${1:-}")"

command -v node >/dev/null || die "node is not installed (Node.js >= 20 is needed)"
command -v npm >/dev/null || die "npm is not installed"
chromium="${CHROMIUM:-/usr/bin/chromium}"
[[ -x "$chromium" ]] || die "$chromium not found: install Debian's chromium (apt-get install chromium) or set CHROMIUM"

listen="${WEB_LISTEN:-127.0.0.1:18580}"
ops_listen="${WEB_OPS_LISTEN:-127.0.0.1:18590}"
base="http://$listen"
target="${CARGO_TARGET_DIR:-$repo/target}"
shots="${WEB_SCREENSHOTS:-$target/web-screenshots}"

refuse_busy_ports "WEB_LISTEN / WEB_OPS_LISTEN" "$listen" "$ops_listen"

make_workspace web

export TESSERA_LISTEN="$listen"
export TESSERA_OPS_LISTEN="$ops_listen"
export TESSERA_ISSUER="$base"
export TESSERA_DATABASE_URL="sqlite://$work/tessera.db"
export TESSERA_KEYS_DIR="$work/keys"
# "Last used" is written behind; every second, so the test sees it soon.
export TESSERA_USAGE__FLUSH_INTERVAL_SECONDS=1
export TESSERA_REMINDERS__ENABLED=false

echo "web: installing playwright-core, otpauth and axe-core (npm ci)"
(cd "$here" && npm ci --silent --no-audit --no-fund) || die "npm ci failed in $here"

echo "web: starting $bin serve on $listen (ops $ops_listen), data in $work"
start_server "$ops_listen"

# --- fixtures through the CLI ---------------------------------------------------
org="$(tessera org create --name BrowserTestOrg --country NL | json_field id)"
other_org="$(tessera org create --name OtherTestOrg --country DE | json_field id)"
app_json="$(tessera app create --org "$org" --api SMC --permission search-match-sandbox --permission search-match-production)"
client_id="$(json_field client_id <<<"$app_json")"
app_name="$(json_field name <<<"$app_json")"
other_client_id="$(tessera app create --org "$other_org" --api DM --permission data-manager-sandbox | json_field client_id)"
old_secret="$(tessera secret create --client-id "$client_id" --name "Old secret" | json_field secret)"
manager="$(tessera user create --email manager@browser.example --role credential-manager --org "$org")"
other="$(tessera user create --email other@browser.example --role credential-manager --org "$other_org")"
admin="$(tessera user create --email admin@browser.example --role admin)"
echo "web: created two organisations, their applications, two credential managers and an admin"

rm -rf "$shots"
if ! (cd "$here" && BASE_URL="$base" CLIENT_ID="$client_id" APP_NAME="$app_name" \
  OLD_SECRET="$old_secret" OTHER_CLIENT_ID="$other_client_id" SCREENSHOTS="$shots" CHROMIUM="$chromium" \
  MANAGER_EMAIL="$(json_field email <<<"$manager")" MANAGER_PASSWORD="$(json_field password <<<"$manager")" \
  MANAGER_TOTP_URI="$(json_field totp_uri <<<"$manager")" \
  OTHER_EMAIL="$(json_field email <<<"$other")" OTHER_PASSWORD="$(json_field password <<<"$other")" \
  OTHER_TOTP_URI="$(json_field totp_uri <<<"$other")" \
  ADMIN_EMAIL="$(json_field email <<<"$admin")" ADMIN_PASSWORD="$(json_field password <<<"$admin")" \
  ADMIN_TOTP_URI="$(json_field totp_uri <<<"$admin")" \
  node web.mjs); then
  die "one or more browser checks failed (see above; screenshots in $shots)"
fi
