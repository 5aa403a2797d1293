#!/usr/bin/env bash
# Daily PIU run for cron: ingest today's manifests, score, write a markdown report, mail it,
# and alert when a call is at or above a band (default: high).
#
#   # crontab -e  (06:30 every day; the log keeps what piu said on stderr)
#   30 6 * * *  PIU_HOME=/srv/piu PIU_INBOX=/srv/piu/inbox PIU_MAIL_TO=piu-team@example.org \
#               /opt/piu/examples/daily.sh >>/var/log/piu-daily.log 2>&1
#
# Settings (environment variables):
#   PIU_INBOX       folder the agents' manifests arrive in; every file in it is offered to `piu ingest` each
#                   run (default ./inbox): one already stored (the same bytes) is recognised and skipped, so a
#                   file that lands after the run, or keeps an old modification time, is stored next time.
#                   Move processed files elsewhere (an archive folder) when the inbox grows large.
#   PIU_REPORT_DIR  folder for the reports (default ./reports)
#   PIU_SINCE       report period (default 24h)
#   PIU_AHEAD       the report also covers calls expected in the next N days (pre-arrival manifests; default 3)
#   PIU_PORT        report and score one port only (default: every port)
#   PIU_ALERT_BAND  band that raises the alert (default high)
#   PIU_MAIL_TO     who receives the report
#   PIU_MAILER      command that sends a message read on stdin; it sees $PIU_MAIL_SUBJECT and
#                   $PIU_MAIL_TO. Default: `mail -s "$PIU_MAIL_SUBJECT" "$PIU_MAIL_TO"` when `mail`
#                   exists and PIU_MAIL_TO is set; otherwise (or with PIU_MAILER=file) the message
#                   is written to $PIU_REPORT_DIR/outbox/ for another job to pick up.
#   PIU             the piu command (default: piu on PATH)
#   PIU_HOME        the store (read by piu itself)
#
# Exit status: 0 done, nothing at the alert band; 3 done, and calls at or above the alert band in the
# report's period or among the calls whose score is news in this run - a late manifest's call is weeks
# old, but its score is new (an "ALERT:" line on stderr); 1 a step failed, e.g. no store at PIU_HOME yet
# or a mistyped one (the report is still written and sent if it can be).
set -uo pipefail

PIU=${PIU:-piu}
INBOX=${PIU_INBOX:-./inbox}
REPORT_DIR=${PIU_REPORT_DIR:-./reports}
SINCE=${PIU_SINCE:-24h}
AHEAD=${PIU_AHEAD:-3}
ALERT_BAND=${PIU_ALERT_BAND:-high}
TODAY=$(date +%F)
PORT_ARGS=()
[ -n "${PIU_PORT:-}" ] && PORT_ARGS=(--port "$PIU_PORT")

log() { printf '%s daily: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
status=0

mkdir -p "$REPORT_DIR" || { log "cannot create $REPORT_DIR"; exit 1; }

# 1. ingest the manifests in the inbox: those stored before (the same bytes) are recognised and skipped,
#    so a file that arrived after yesterday's run, or was copied with an old time, is not missed
files=()
if [ -d "$INBOX" ]; then
  while IFS= read -r -d '' f; do files+=("$f"); done \
    < <(find "$INBOX" -maxdepth 1 -type f ! -name '.*' -print0 | sort -z)
else
  log "no inbox folder $INBOX"
fi
if [ ${#files[@]} -gt 0 ]; then
  log "offering ${#files[@]} file(s) in $INBOX to piu ingest (files stored before are skipped)"
  "$PIU" ingest "${files[@]}" || { log "ingest failed (exit $?)"; status=1; }
else
  log "no manifests in $INBOX"
fi

# 2. score what is not scored yet; keep the flagged calls whose score is news (new, amended and late
#    manifests, whatever their call time; calls a rule or watchlist change raised) and alert on them too.
#    A call scored earlier by another `piu score` (by hand) is no news to this job; a run that fails
#    after this step still leaves the day's list in $REPORT_DIR.
scored="$REPORT_DIR/piu-scored-$TODAY.tsv"
"$PIU" score ${PORT_ARGS[@]+"${PORT_ARGS[@]}"} --new --fail-on "$ALERT_BAND" -f tsv >"$scored"
rc=$?
new_alert=0
case $rc in
  0) ;;
  3) new_alert=1 ;;
  *) log "score failed (exit $rc)"; status=1 ;;
esac

# 3. the report (the period up to the calls expected in the next $AHEAD days), and the alert from its exit code
report="$REPORT_DIR/piu-report-$TODAY.md"
UNTIL_ARGS=()
until_day=$(date -u -d "+$AHEAD days" +%F 2>/dev/null || date -u -v "+${AHEAD}d" +%F 2>/dev/null) \
  && UNTIL_ARGS=(--until "$until_day") || log "cannot compute the date in $AHEAD days: the report ends now"
"$PIU" report --since "$SINCE" ${UNTIL_ARGS[@]+"${UNTIL_ARGS[@]}"} ${PORT_ARGS[@]+"${PORT_ARGS[@]}"} \
  --fail-on "$ALERT_BAND" -f markdown -o "$report"
rc=$?
alert=0
case $rc in
  0) ;;
  3) alert=1 ;;
  *) log "report failed (exit $rc)"; exit 1 ;;
esac
# the flagged calls whose score is news go with the report (a late manifest's call is outside its period)
if [ "$(wc -l <"$scored" 2>/dev/null || echo 0)" -gt 1 ]; then
  { printf '\n## Flagged among the calls new or raised in this run\n\n```\n'; cat "$scored"; printf '```\n'; } >>"$report"
fi

# 4. mail it (or leave it in the outbox)
export PIU_MAIL_TO=${PIU_MAIL_TO:-}
export PIU_MAIL_SUBJECT="PIU daily report $TODAY"
[ $alert -eq 1 ] || [ $new_alert -eq 1 ] && PIU_MAIL_SUBJECT="[ALERT: $ALERT_BAND] $PIU_MAIL_SUBJECT"
mailer=${PIU_MAILER:-}
if [ -z "$mailer" ]; then
  if command -v mail >/dev/null 2>&1 && [ -n "$PIU_MAIL_TO" ]; then
    mailer='mail -s "$PIU_MAIL_SUBJECT" "$PIU_MAIL_TO"'
  else
    mailer=file
  fi
fi
if [ "$mailer" = file ]; then
  mkdir -p "$REPORT_DIR/outbox"
  out="$REPORT_DIR/outbox/piu-report-$TODAY.eml"
  { printf 'To: %s\nSubject: %s\nContent-Type: text/markdown; charset=utf-8\n\n' \
      "${PIU_MAIL_TO:-(not set)}" "$PIU_MAIL_SUBJECT"; cat "$report"; } >"$out" \
    && log "no mailer: message written to $out" || { log "cannot write $out"; status=1; }
else
  sh -c "$mailer" <"$report" && log "report mailed" || { log "mailer failed (exit $?)"; status=1; }
fi

# 5. the alert: one line a monitoring system can match, and exit 3
if [ $alert -eq 1 ]; then
  echo "ALERT: calls at or above $ALERT_BAND in the last $SINCE; see $report" >&2
  exit 3
fi
if [ $new_alert -eq 1 ]; then
  echo "ALERT: calls at or above $ALERT_BAND among those new or raised in this run (outside the report's period); see $report" >&2
  exit 3
fi
exit $status
