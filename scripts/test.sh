#!/usr/bin/env bash
# The whole test suite: type check, unit tests, and integration tests against a real Kafka
# broker. Unless KAFKA_BROKERS points at one already, a fresh single-node KRaft broker is
# started from Maven Central artifacts (scripts/kafka.sh) and stopped afterwards.
# Extra arguments go to vitest (e.g. `npm test -- --project unit`).
set -euo pipefail
cd "$(dirname "$0")/.."

# The console's browser tests drive Debian's Chromium (playwright-core never downloads a browser).
# As root on Debian the command installs it; elsewhere it says how, and those tests fail.
if [ -z "${CHROMIUM_PATH:-}" ] && [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "test: installing Debian's chromium for the console's browser tests" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
  else
    echo "test: the console's browser tests need Chromium: apt-get install chromium, or set CHROMIUM_PATH" >&2
  fi
fi

if [ -z "${KAFKA_BROKERS:-}" ]; then
  bash scripts/kafka.sh clean >&2
  trap 'bash scripts/kafka.sh stop >&2' EXIT
  eval "$(bash scripts/kafka.sh start)"
  export KAFKA_BROKERS
  # The suite owns this broker: the outage test may stop and restart it.
  export KAFKA_MANAGED=1
fi
echo "test: Kafka at $KAFKA_BROKERS (Kafka ${KAFKA_VERSION:-default version})" >&2

npx tsc --noEmit
results=$(mktemp -t kcr-vitest-XXXXXX.json)
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$results" "$@" || status=$?
# One plain closing line for tools that read it.
node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);' "$results" || true
rm -f "$results"
exit "$status"
