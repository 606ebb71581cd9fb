#!/usr/bin/env bash
# Runs gunicorn (admin + API), the django-q2 worker under its supervisor (manage.py supervise_worker) and the flag
# stream (uvicorn, docs/ARCHITECTURE.md § Serving model) side by side. The supervisor restarts a worker that dies
# or wedges; the web server stays up whatever the worker or the stream do (SDKs fall back to polling without the
# stream). Ctrl-C (or SIGTERM to this script) stops all; if the web server exits, the others are stopped too.
set -u
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
PORT=${PORT:-8000}
BIND=${BIND:-127.0.0.1:$PORT}
STREAM_PORT=${STREAM_PORT:-8001}

# GET /metrics sums the counters of every gunicorn worker and the stream process from files here (prometheus_client's
# multiprocess mode, docs/SLOs.md § Metrics); emptied at each start, so counters restart with the portal.
export PROMETHEUS_MULTIPROC_DIR=${PROMETHEUS_MULTIPROC_DIR:-${TMPDIR:-/tmp}/portal-metrics-$PORT}
mkdir -p "$PROMETHEUS_MULTIPROC_DIR" && rm -f "$PROMETHEUS_MULTIPROC_DIR"/*.db

$BIN/python manage.py collectstatic --noinput --verbosity 0
# Each child gets its own session: Ctrl-C reaches only this script, which then sends exactly one SIGTERM to
# each; the supervisor in turn sends exactly one to qcluster (a second signal can deadlock it, django-q2#346).
setsid $BIN/gunicorn governance.wsgi:application --bind "$BIND" --workers "${WEB_WORKERS:-2}" \
  --threads "${WEB_THREADS:-4}" --worker-class gthread --access-logfile - &
web=$!
setsid $BIN/python manage.py supervise_worker &
supervisor=$!
setsid $BIN/uvicorn flags.stream:application --host "${BIND%:*}" --port "$STREAM_PORT" --no-access-log \
  --timeout-graceful-shutdown 2 &
stream=$!
echo "portal: http://$BIND/admin/  (web pid $web, worker supervisor pid $supervisor, flag stream pid $stream on" \
     ":$STREAM_PORT; Ctrl-C stops all)"

others() { echo $supervisor $stream; }

stop() {
  trap - INT TERM
  for pid in $web $(others); do kill -TERM "$pid" 2>/dev/null; done
  wait $web $(others) 2>/dev/null
  exit 0
}
trap stop INT TERM
while :; do
  wait -n $web $(others)
  kill -0 "$web" 2>/dev/null || break
  # The supervisor (it restarts the worker; it only ends on a signal or a bug) or the stream ended: keep serving.
  if [ -n "$supervisor" ] && ! kill -0 "$supervisor" 2>/dev/null; then
    echo "portal: the worker supervisor exited; the web server stays up (restart it: manage.py supervise_worker)"
    supervisor=""
  fi
  if [ -n "$stream" ] && ! kill -0 "$stream" 2>/dev/null; then
    echo "portal: the flag stream exited; the web server stays up (SDKs poll until it is back)"
    stream=""
  fi
done
echo "portal: the web server exited; stopping the others"
stop
