#!/usr/bin/env bash
# Runs a command against a throwaway PostgreSQL server:
#
#   bash scripts/with-postgres.sh npx mocha --grep 'postgres: '
#
# The server is started in a new temporary directory, LLMSTATE_TEST_POSTGRES_URL points at it while the
# command runs, and it is stopped and removed when the command ends, however it ends. Exits with the
# command's status.
set -euo pipefail

if [ $# -eq 0 ]; then
  echo "usage: $0 <command> [args...]" >&2
  exit 2
fi

throwaway="$(cd "$(dirname "$0")" && pwd)/postgres-throwaway.sh"

# Says what is missing and how to install it.
bash "$throwaway" bindir >/dev/null || exit 1

dir="$(mktemp -d -t llmstate-postgres.XXXXXXXX)"
trap 'bash "$throwaway" stop "$dir"' EXIT
# An interrupt exits through the EXIT trap too, so the server never outlives the command.
trap 'exit 130' INT
trap 'exit 143' TERM

LLMSTATE_TEST_POSTGRES_URL="$(bash "$throwaway" start "$dir")"
export LLMSTATE_TEST_POSTGRES_URL
echo "PostgreSQL for the tests: $LLMSTATE_TEST_POSTGRES_URL (in $dir)" >&2

status=0
"$@" || status=$?
exit "$status"
