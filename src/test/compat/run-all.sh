#!/usr/bin/env bash
# Runs every client script against a running start-dev node (see README.md). Ports as start-dev's defaults unless
# MAILGATE_ENDPOINT, MAILGATE_SMTP_PORT and MAILGATE_SMTP_TLS_PORT say otherwise.
set -u
cd "$(dirname "$0")"
export MAILGATE_ENDPOINT="${MAILGATE_ENDPOINT:-http://127.0.0.1:8080}"
export MAILGATE_SMTP_PORT="${MAILGATE_SMTP_PORT:-2587}"
TLS_PORT="${MAILGATE_SMTP_TLS_PORT:-}"
failed=()
run() {
  echo "== $*"
  "$@" || failed+=("$*")
}
run /usr/bin/python3 dkim_check.py --prepare
run /usr/bin/python3 boto3_sesv2.py
run /usr/bin/python3 boto3_ses_v1.py
(cd node && [ -d node_modules ] || npm install --no-audit --no-fund >/dev/null)
run node node/nodemailer-compat.js
NODEMAILER=nodemailer6 run node node/nodemailer-compat.js
if [ -n "$TLS_PORT" ]; then
  # a node with a certificate: no AUTH before STARTTLS on the submission port, and the implicit TLS port
  MAILGATE_SMTP_TLS=starttls run /usr/bin/python3 django_smtp.py
  MAILGATE_SMTP_TLS=starttls run ruby ruby_mail_smtp.rb
  MAILGATE_SMTP_PORT="$TLS_PORT" MAILGATE_SMTP_TLS=ssl run /usr/bin/python3 django_smtp.py
  MAILGATE_SMTP_PORT="$TLS_PORT" MAILGATE_SMTP_TLS=ssl run ruby ruby_mail_smtp.rb
else
  run /usr/bin/python3 django_smtp.py
  run ruby ruby_mail_smtp.rb
fi
run /usr/bin/python3 dkim_check.py
if [ ${#failed[@]} -gt 0 ]; then
  printf '\nFAILED: %s\n' "${failed[@]}"
  exit 1
fi
echo; echo "every client passed"
