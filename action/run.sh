#!/usr/bin/env bash
# Runs release-check for the GitHub Action in action.yml, then posts the
# report when asked. The step's exit code is release-check's: 0 GO, 1
# NO-GO, 2 no verdict, 3 the report could not be posted.
#
# Environment (set by action.yml from its inputs):
#   RC_BINARY       the installed release-check
#   RC_ARGS         its arguments, split on whitespace (no quoting, no globbing)
#   RC_FORMAT       --format, when not empty
#   RC_OUTPUT       --output, when not empty
#   RC_REPORT_JSON  --json-output, when not empty
#   RC_POST         "true": post the JSON report (written to a temporary
#                   file when RC_REPORT_JSON is empty)
#   RC_REPORT_NAME  publish's --name and --context
set -uo pipefail

binary="${RC_BINARY:?RC_BINARY names the installed release-check}"
set -f
# shellcheck disable=SC2206 # splitting on whitespace is the documented behaviour
args=(${RC_ARGS:-})
set +f
if [ -n "${RC_FORMAT:-}" ]; then
    args+=(--format "$RC_FORMAT")
fi
if [ -n "${RC_OUTPUT:-}" ]; then
    args+=(--output "$RC_OUTPUT")
fi
report="${RC_REPORT_JSON:-}"
if [ -z "$report" ] && [ "${RC_POST:-false}" = true ]; then
    report="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/release-check-report-${RC_REPORT_NAME:-release-check}.json"
fi
if [ -n "$report" ]; then
    # A report left by an earlier step must not be posted as this one's.
    rm -f "$report"
    args+=(--json-output "$report")
fi

code=0
"$binary" "${args[@]}" || code=$?
case "$code" in
    0) verdict=GO ;;
    1) verdict=NO-GO ;;
    *) verdict="" ;;
esac
if [ -n "$report" ] && [ "${RC_POST:-false}" = true ]; then
    # Also without a report (exit 2): publish then posts an error status.
    name="${RC_REPORT_NAME:-release-check}"
    posted=0
    "$binary" publish "$report" --post --name "$name" --context "$name" || posted=$?
    # publish exits with the report's verdict, or 3 when posting failed.
    if [ "$posted" -eq 3 ] && [ "$code" -le 1 ]; then
        code=3
    fi
fi
if [ -n "${GITHUB_OUTPUT:-}" ]; then
    {
        printf 'exit-code=%s\n' "$code"
        printf 'verdict=%s\n' "$verdict"
        printf 'report-json=%s\n' "$report"
    } >>"$GITHUB_OUTPUT"
fi
exit "$code"
