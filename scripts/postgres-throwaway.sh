#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests.
#
#   postgres-throwaway.sh start <dir>   initialise a cluster in <dir> (new, or empty) and start it on
#                                       127.0.0.1 and a free port; print its URL, one line, on stdout
#   postgres-throwaway.sh stop <dir>    stop it, and remove <dir>
#   postgres-throwaway.sh bindir        print the directory of initdb and pg_ctl, or say how to install them
#
# The server's log, initdb's included, is <dir>/server.log. PostgreSQL refuses to run as root: as root,
# the cluster belongs to the `postgres` OS user, created when missing.
#
# LLMSTATE_PG_FSYNC=on starts the cluster with fsync on, as a production server runs, for the benchmarks;
# the default, off, is for the tests.
set -euo pipefail

FSYNC="${LLMSTATE_PG_FSYNC:-off}"
case "$FSYNC" in
  on | off) ;;
  *)
    echo "LLMSTATE_PG_FSYNC must be on or off, got '$FSYNC'." >&2
    exit 2
    ;;
esac

MARKER=.llmstate-throwaway-postgres
OWNER=postgres

usage() {
  echo "usage: $0 start <dir> | stop <dir> | bindir" >&2
  exit 2
}

# pg_config --bindir when it has the server's programs (libpq-dev alone installs a pg_config without
# them), else the highest version under /usr/lib/postgresql, where Debian puts them.
find_bindir() {
  local dir
  if command -v pg_config >/dev/null 2>&1; then
    dir="$(pg_config --bindir 2>/dev/null || true)"
    if [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
      echo "$dir"
      return 0
    fi
  fi
  for dir in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V -r); do
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
      echo "$dir"
      return 0
    fi
  done
  echo "PostgreSQL's server programs (initdb, pg_ctl) were not found: neither \`pg_config --bindir\`" \
    "nor /usr/lib/postgresql/*/bin has them. Install them, on Debian or Ubuntu with" \
    "\`apt-get install postgresql\`, or point LLMSTATE_TEST_POSTGRES_URL at a server of your own." >&2
  return 1
}

ensure_owner_user() {
  if id -u "$OWNER" >/dev/null 2>&1; then return 0; fi
  # A `postgres` group can be left without its user (by a package removed, or made by hand); useradd
  # refuses to make a same-named group then, so the user joins the existing one.
  if getent group "$OWNER" >/dev/null 2>&1; then
    useradd --system --gid "$OWNER" --no-create-home --shell /usr/sbin/nologin "$OWNER"
  else
    useradd --system --user-group --no-create-home --shell /usr/sbin/nologin "$OWNER"
  fi
}

# Runs a command as the cluster's owner: the `postgres` user when we are root, else ourselves. From
# inside the cluster's directory, so that the owner never starts in a directory it cannot read.
as_owner() {
  if [ "$(id -u)" = 0 ]; then
    (cd "$dir" && runuser -u "$OWNER" -- "$@")
  else
    (cd "$dir" && "$@")
  fi
}

free_port() {
  node -e "const s = require('node:net').createServer(); s.listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close(); });"
}

fail_with_log() {
  echo "$1" >&2
  if [ -f "$dir/server.log" ]; then
    echo "Last lines of $dir/server.log:" >&2
    tail -n 30 "$dir/server.log" >&2
  fi
  exit 1
}

start() {
  local bindir port
  bindir="$(find_bindir)"
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  if [ -n "$(ls -A "$dir")" ]; then
    echo "$dir is not empty: a throwaway cluster starts in a new or empty directory." >&2
    exit 1
  fi
  : >"$dir/$MARKER"
  : >"$dir/server.log"
  if [ "$(id -u)" = 0 ]; then
    ensure_owner_user
    chown -R "$OWNER" "$dir"
  fi
  as_owner test -w "$dir" ||
    fail_with_log "The user who runs the cluster cannot write to $dir: start it in a directory that user can reach, such as one under /tmp."

  as_owner "$bindir/initdb" --pgdata="$dir/data" --auth=trust --username=postgres --encoding=UTF8 \
    --locale=C --no-sync >>"$dir/server.log" 2>&1 || fail_with_log "initdb failed in $dir/data."

  # fsync=off by default, and initdb --no-sync: this cluster lives for one test run and is deleted after
  # it, so nothing in it needs to survive a crash of the machine, and the tests need not wait for the disk.
  # A benchmark asks for fsync=on, so that each commit waits for the disk as it would in production.
  cat >>"$dir/data/postgresql.conf" <<EOF

# Throwaway test cluster (scripts/postgres-throwaway.sh)
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
max_connections = 300
fsync = $FSYNC
EOF

  # The kernel's free port can be taken by someone else before the server binds it: then try another.
  for _ in 1 2 3; do
    port="$(free_port)"
    if as_owner "$bindir/pg_ctl" --pgdata="$dir/data" --log="$dir/server.log" --wait --timeout=60 \
      --options="-p $port" start >>"$dir/server.log" 2>&1; then
      echo "postgres://postgres@127.0.0.1:$port/postgres"
      return 0
    fi
    if ! grep -q 'could not bind' "$dir/server.log"; then break; fi
  done
  fail_with_log "PostgreSQL did not start in $dir/data."
}

stop() {
  local bindir
  if [ ! -e "$dir" ]; then return 0; fi
  dir="$(cd "$dir" && pwd)"
  if [ ! -f "$dir/$MARKER" ]; then
    # A start that failed before writing its marker leaves the empty directory it was given.
    if [ -z "$(ls -A "$dir")" ]; then
      rmdir "$dir"
      return 0
    fi
    echo "$dir was not made by '$0 start': not removing it." >&2
    exit 1
  fi
  if [ -f "$dir/data/postmaster.pid" ]; then
    bindir="$(find_bindir)"
    if as_owner "$bindir/pg_ctl" --pgdata="$dir/data" status >/dev/null 2>&1; then
      as_owner "$bindir/pg_ctl" --pgdata="$dir/data" --mode=fast --wait --timeout=60 stop >>"$dir/server.log" 2>&1 ||
        as_owner "$bindir/pg_ctl" --pgdata="$dir/data" --mode=immediate --wait --timeout=60 stop >>"$dir/server.log" 2>&1 ||
        fail_with_log "PostgreSQL in $dir/data did not stop: $dir is left as it is."
    fi
  fi
  rm -rf "$dir"
}

case "${1:-}" in
  start | stop)
    [ $# -eq 2 ] || usage
    dir="$2"
    "$1"
    ;;
  bindir)
    [ $# -eq 1 ] || usage
    find_bindir
    ;;
  *) usage ;;
esac
