#!/usr/bin/env bash
# Runs gunicorn and the django-q2 worker (under its supervisor, manage.py supervise_worker) side by side.
# The supervisor restarts a worker that dies or wedges; the web server stays up whatever the worker does.
# Ctrl-C (or SIGTERM to this script) stops both; if the web server exits, the worker is stopped too.
set -u
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
PORT=${PORT:-8000}
BIND=${BIND:-127.0.0.1:$PORT}

$BIN/python manage.py collectstatic --noinput --verbosity 0
# Each child gets its own session: Ctrl-C reaches only this script, which then sends exactly one SIGTERM to
# each; the supervisor in turn sends exactly one to qcluster (a second signal can deadlock it, django-q2#346).
setsid $BIN/gunicorn governance.wsgi:application --bind "$BIND" --workers "${WEB_WORKERS:-2}" \
  --threads "${WEB_THREADS:-4}" --worker-class gthread --access-logfile - &
web=$!
setsid $BIN/python manage.py supervise_worker &
supervisor=$!
echo "portal: http://$BIND/admin/  (web pid $web, worker supervisor pid $supervisor; Ctrl-C stops both)"

stop() {
  trap - INT TERM
  kill -TERM "$web" 2>/dev/null
  [ -n "$supervisor" ] && kill -TERM "$supervisor" 2>/dev/null
  wait "$web" $supervisor 2>/dev/null
  exit 0
}
trap stop INT TERM
wait -n "$web" "$supervisor"
if kill -0 "$web" 2>/dev/null; then
  # The supervisor itself ended (it restarts the worker; it only ends on a signal or a bug): keep serving.
  echo "portal: the worker supervisor exited; the web server stays up (restart the worker: manage.py supervise_worker)"
  supervisor=""
  wait "$web"
fi
echo "portal: the web server exited; stopping the worker"
stop
