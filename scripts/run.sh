#!/usr/bin/env bash
# Runs gunicorn, the django-q2 worker and the flag stream (uvicorn) together; Ctrl-C stops all three.
set -u
cd "$(dirname "$0")/.."
BIN=.venv/bin
PORT=${PORT:-8000}
BIND=${BIND:-127.0.0.1:$PORT}

$BIN/python manage.py collectstatic --noinput --verbosity 0
# Each child gets its own session: Ctrl-C reaches only this script, which then sends exactly one
# SIGTERM to each (a second signal can deadlock qcluster, django-q2#346).
setsid $BIN/gunicorn governance.wsgi:application --bind "$BIND" --workers "${WEB_WORKERS:-2}" \
  --threads "${WEB_THREADS:-4}" --worker-class gthread --access-logfile - &
web=$!
setsid $BIN/python manage.py qcluster &
worker=$!
# The flag stream (SSE, docs/ARCHITECTURE.md § Serving model): uvicorn, apart from gunicorn's threads.
setsid $BIN/uvicorn flags.stream:application --host "${BIND%:*}" --port "${STREAM_PORT:-8001}" --no-access-log \
  --timeout-graceful-shutdown 2 &
stream=$!
echo "portal: http://$BIND/admin/  (web pid $web, worker pid $worker, stream pid $stream on :${STREAM_PORT:-8001})"

stop() {
  trap - INT TERM
  kill -TERM "$web" "$worker" "$stream" 2>/dev/null
  wait "$web" "$worker" "$stream" 2>/dev/null
  exit 0
}
trap stop INT TERM
wait -n "$web" "$worker" "$stream"
echo "portal: one process exited; stopping the others"
stop
