#!/usr/bin/python3
"""Django's SMTP email backend against a start-dev node's submission port, as a Django project's settings use it.
Run: /usr/bin/python3 django_smtp.py. MAILGATE_SMTP_TLS=starttls (EMAIL_USE_TLS) or ssl (EMAIL_USE_SSL, the implicit
TLS port) when the node has a certificate; plain otherwise."""
import os

import django
from django.conf import settings

from common import (SMTP_HOST, SMTP_PORT, ACCESS_KEY, SMTP_PASSWORD, RUN, check, expect, finish, parsed, sender,
                    dkim_verifies)

SENDER = sender("django")

TLS = os.environ.get("MAILGATE_SMTP_TLS", "plain")
settings.configure(
    EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
    EMAIL_HOST=SMTP_HOST, EMAIL_PORT=SMTP_PORT, EMAIL_HOST_USER=ACCESS_KEY, EMAIL_HOST_PASSWORD=SMTP_PASSWORD,
    EMAIL_USE_TLS=TLS == "starttls", EMAIL_USE_SSL=TLS == "ssl", EMAIL_TIMEOUT=20,
    DEFAULT_FROM_EMAIL=f"Django Äpp <{SENDER}>", DEFAULT_CHARSET="utf-8")
django.setup()

from django.core import mail  # noqa: E402
from django.core.mail import EmailMultiAlternatives, get_connection  # noqa: E402

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 8


def send_mail():
    n = mail.send_mail(f"simple {RUN} ✓", "Body ✓", None, ["Ünïcode Name <u@example.org>"])
    expect(n == 1, n)
    msg, m = parsed(f"simple {RUN}")
    expect(msg["From"].addresses[0].display_name == "Django Äpp", msg["From"])
    expect(msg["To"].addresses[0].display_name == "Ünïcode Name", msg["To"])
    expect(msg.get_content().strip() == "Body ✓", msg.get_content())


check("send_mail", send_mail)


def multi_alternatives():
    e = EmailMultiAlternatives(
        subject=f"alternatives {RUN} Grüße ✓", body="Text version ✓",
        from_email=f"Django Äpp <{SENDER}>", to=["to@example.org"], cc=["Çc Person <cc@example.org>"],
        bcc=["bcc@example.org"], reply_to=["reply@example.com"], headers={"X-Compat": RUN})
    e.attach_alternative("<p>HTML version ✓</p>", "text/html")
    e.attach("invoice-ü.pdf", PDF, "application/pdf")
    e.attach("notes.txt", "ünïcode notes\n", "text/plain")
    expect(e.send() == 1, "send")
    msg, m = parsed(f"alternatives {RUN}")
    expect(msg["Subject"] == f"alternatives {RUN} Grüße ✓", msg["Subject"])
    expect("Bcc" not in msg, "Bcc header kept")
    expect(msg.get_content_type() == "multipart/mixed", msg.get_content_type())
    expect(msg.get_body(("plain",)).get_content().strip() == "Text version ✓", "text")
    expect(msg.get_body(("html",)).get_content().strip() == "<p>HTML version ✓</p>", "html")
    atts = {a.get_filename(): a for a in msg.iter_attachments()}
    expect(set(atts) == {"invoice-ü.pdf", "notes.txt"}, atts.keys())
    expect(atts["invoice-ü.pdf"].get_content() == PDF, "pdf bytes")
    expect(atts["notes.txt"].get_content().replace("\r\n", "\n") == "ünïcode notes\n", "notes")
    expect(msg["Message-ID"] and msg["Date"], "Message-ID, Date")
    expect(dkim_verifies(m["Raw"].encode("utf-8")), "DKIM signature does not verify")


check("EmailMultiAlternatives with attachments", multi_alternatives)


def one_connection():
    with get_connection() as c:
        msgs = [EmailMultiAlternatives(f"batch {RUN} {i}", "x", SENDER, [f"b{i}@example.org"], connection=c)
                for i in range(3)]
        expect(c.send_messages(msgs) == 3, "sent")
    for i in range(3):
        parsed(f"batch {RUN} {i}")


check("send_messages over one connection", one_connection)


def bad_password():
    c = get_connection(password="wrong", fail_silently=False)
    try:
        c.open()
    except Exception as e:  # smtplib.SMTPAuthenticationError
        expect(getattr(e, "smtp_code", None) == 535, repr(e))
        return
    raise AssertionError("no error")


check("wrong password -> SMTPAuthenticationError 535", bad_password)
finish()
