#!/usr/bin/python3
"""Verifies the DKIM signature of every captured message from the compat domain (MAILGATE_COMPAT_DOMAIN), as a
receiving MTA would: run it after the client scripts (run-all.sh does). `--prepare` creates the domain identity first,
so that what the mail gem and nodemailer send is signed too."""
import email
import email.policy
import sys

from common import DOMAIN, captured, check, dkim_key, dkim_verifies, ensure_domain, expect, finish

if "--prepare" in sys.argv:
    ensure_domain()
    sys.exit(0)

record = dkim_key()
messages = [m for m in captured()
            if email.message_from_string(m["Raw"], policy=email.policy.default)["From"].addresses[0].domain == DOMAIN]
check(f"captured messages from {DOMAIN}", lambda: expect(messages, "none: run the client scripts first"))
for m in messages:
    check(f"DKIM of {m['Subject'][:60]!r}",
          lambda m=m: expect(dkim_verifies(m["Raw"].encode("utf-8"), record), "signature does not verify"))
finish()
