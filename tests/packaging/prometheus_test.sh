#!/usr/bin/env bash
# Checks the Prometheus examples in contrib/prometheus/ with promtool.
#
# usage: prometheus_test.sh check-config PROMETHEUS_YML
#        prometheus_test.sh check-rules RULES_YML
#        prometheus_test.sh test-rules RULES_YML RULES_TEST_YML
#
#   check-config  `promtool check config`: the configuration, the rule files it
#                 names and the file_sd files (agents.yml), all found relative
#                 to the configuration's directory, as Prometheus finds them.
#                 A warning fails too (promtool only warns when a file_sd file
#                 is missing).
#   check-rules   `promtool check rules`.
#   test-rules    `promtool test rules` (the tests name the rule file relative
#                 to themselves, so RULES_YML must be the one beside them), and
#                 that every alert of RULES_YML has an alert_rule_test expecting
#                 it to fire (`exp_alerts:` then `- exp_labels:` on the next
#                 line) and one expecting it not to (`exp_alerts: []`), with
#                 `alertname:` written before `exp_alerts:`; and, if RULES_YML
#                 has several groups, that the tests fix their order.
# Exit status 77 (meson: skipped) when promtool is not installed.
set -euo pipefail

if ! command -v promtool >/dev/null; then
  echo "promtool not found: skipped (apt-get install prometheus)"
  exit 77
fi

run() {  # run COMMAND...: print it and its output; fail on an error or a warning
  local out rc
  echo "\$ $*"
  set +e
  out=$("$@" 2>&1)
  rc=$?
  set -e
  echo "$out"
  if [[ $rc -ne 0 ]]; then
    echo "FAIL: $1 $2 $3 exited with status $rc"
    return 1
  fi
  if grep -q 'WARNING' <<<"$out"; then
    echo "FAIL: $1 $2 $3 warned"
    return 1
  fi
}

# The alerts of RULES that TESTS does not expect both firing and not firing.
untested_alerts() {  # untested_alerts RULES TESTS
  local alert fires silent
  for alert in $(sed -n 's/^ *- alert: *\([A-Za-z0-9_]*\) *$/\1/p' "$1"); do
    read -r fires silent < <(awk -v want="$alert" '
      /^ *(#.*)?$/ { next }
      after_exp == want && /^ *- exp_(labels|annotations):/ { fires++ }
      { after_exp = "" }
      /^ *alertname:/ { name = $2 }
      /^ *exp_alerts: *\[\] *$/ { if (name == want) silent++; name = "" }
      /^ *exp_alerts: *$/ { after_exp = name; name = "" }
      END { print fires + 0, silent + 0 }' "$2")
    echo "$alert: $fires test(s) firing, $silent not firing"
    if [[ $fires -eq 0 || $silent -eq 0 ]]; then
      echo "FAIL: $alert is not tested both firing and not firing"
      return 1
    fi
  done
}

case "${1:-}" in
  check-config)
    run promtool check config "$2"
    ;;
  check-rules)
    run promtool check rules "$2"
    ;;
  test-rules)
    rules=$2 tests=$3
    if [[ $(realpath "$(dirname "$rules")") != $(realpath "$(dirname "$tests")") ]]; then
      echo "FAIL: $tests and $rules are not in one directory"
      exit 1
    fi
    if ! grep -q '^ *- alert:' "$rules"; then
      echo "FAIL: $rules has no alert"
      exit 1
    fi
    # promtool evaluates the groups of a rule file in a random order at each
    # step unless the tests fix it: an alert reading another group's
    # recording would then see it one step old, now and then.
    if [[ $(grep -c '^ *- name:' "$rules") -gt 1 ]] && ! grep -q '^group_eval_order:' "$tests"; then
      echo "FAIL: $rules has several groups and $tests no group_eval_order"
      exit 1
    fi
    fail=0
    # promtool finds rule_files relative to the test file's directory.
    run promtool test rules "$tests" || fail=1
    untested_alerts "$rules" "$tests" || fail=1
    exit $fail
    ;;
  *)
    sed -n '4,6p' "$0" >&2
    exit 2
    ;;
esac
