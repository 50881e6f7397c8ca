#!/usr/bin/python3
"""boto3's v1 ses client (the Query API) against a start-dev node. Run: /usr/bin/python3 boto3_ses_v1.py."""
import datetime
import json
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

from common import (RUN, TO, check, expect, expect_error, captured, finish, client, request_id, parsed, sender,
                    dkim_verifies)

ses = client("ses")
ex = ses.exceptions
SENDER = sender("v1")


check("verify_email_identity", lambda: request_id(ses.verify_email_identity(EmailAddress=SENDER)))
check("verify_email_identity again (no error, as SES)", lambda: ses.verify_email_identity(EmailAddress=SENDER))
check("verify_domain_identity", lambda: expect(
    ses.verify_domain_identity(Domain=f"v1-{RUN}.example.net")["VerificationToken"], "token"))
check("list_identities", lambda: expect(SENDER in ses.list_identities(IdentityType="EmailAddress")["Identities"],
                                         "missing"))
check("list_identities paged", lambda: expect(len(ses.list_identities(MaxItems=1)["Identities"]) == 1, "page"))


def verification_attributes():
    r = ses.get_identity_verification_attributes(Identities=[SENDER, f"v1-{RUN}.example.net", "nobody@example.invalid"])
    attrs = r["VerificationAttributes"]
    expect(attrs[SENDER]["VerificationStatus"] == "Success", attrs)
    expect("VerificationToken" in attrs[f"v1-{RUN}.example.net"], attrs)
    expect("nobody@example.invalid" not in attrs, attrs)


check("get_identity_verification_attributes", verification_attributes)


def quota():
    r = ses.get_send_quota()
    expect(isinstance(r["Max24HourSend"], float) and isinstance(r["MaxSendRate"], float), r)
    expect(isinstance(r["SentLast24Hours"], float), r)


check("get_send_quota", quota)


def send():
    r = ses.send_email(Source=f"V1 Sénder <{SENDER}>",
                       Destination={"ToAddresses": [f"Tö <{TO}>"], "BccAddresses": ["bcc@example.org"]},
                       Message={"Subject": {"Data": "v1 ✓ subject", "Charset": "UTF-8"},
                                "Body": {"Text": {"Data": "text ✓", "Charset": "UTF-8"},
                                         "Html": {"Data": "<i>html</i>", "Charset": "UTF-8"}}},
                       ReplyToAddresses=["r@example.com"], Tags=[{"Name": "k", "Value": "v"}])
    request_id(r)
    msg, m = parsed(r["MessageId"])
    expect(msg["Subject"] == "v1 ✓ subject", msg["Subject"])
    expect(msg["From"].addresses[0].display_name == "V1 Sénder", msg["From"])
    expect("Bcc" not in msg, "Bcc header sent")
    expect(dkim_verifies(m["Raw"].encode("utf-8")), "DKIM signature does not verify")
    return r


check("send_email", send)


def send_raw():
    m = MIMEMultipart()
    m["Subject"] = "raw v1 ✓"
    m["From"] = SENDER
    m["To"] = TO
    m.attach(MIMEText("body ✓", "plain", "utf-8"))
    part = MIMEApplication(b"col1,col2\n1,2\n", Name="report.csv")
    part["Content-Disposition"] = 'attachment; filename="report.csv"'
    m.attach(part)
    r = ses.send_raw_email(RawMessage={"Data": m.as_bytes()})
    request_id(r)
    msg, _ = parsed(r["MessageId"])
    atts = list(msg.iter_attachments())
    expect(atts and atts[0].get_content() == b"col1,col2\n1,2\n", "attachment")
    r2 = ses.send_raw_email(Source=SENDER, Destinations=["other@example.org"], RawMessage={"Data": m.as_bytes()})
    c = captured(r2["MessageId"])
    expect(c["Envelope"]["RcptTo"] == ["other@example.org"], c["Envelope"])


check("send_raw_email", send_raw)

T = f"v1tpl-{RUN}"
check("create_template", lambda: ses.create_template(Template={
    "TemplateName": T, "SubjectPart": "Hi {{name}}", "TextPart": "Dear {{name}}", "HtmlPart": "<p>{{name}}</p>"}))
check("create_template twice -> AlreadyExistsException", lambda: expect_error(lambda: ses.create_template(Template={
    "TemplateName": T, "SubjectPart": "s", "TextPart": "t"}), ex.AlreadyExistsException, "AlreadyExists"))
check("get_template", lambda: expect(ses.get_template(TemplateName=T)["Template"]["SubjectPart"] == "Hi {{name}}",
                                     "subject"))
check("list_templates", lambda: expect(any(t["Name"] == T for t in ses.list_templates()["TemplatesMetadata"]), "x"))


def send_templated():
    r = ses.send_templated_email(Source=SENDER, Destination={"ToAddresses": [TO]}, Template=T,
                                 TemplateData=json.dumps({"name": "Ådne"}))
    msg, _ = parsed(r["MessageId"])
    expect(msg["Subject"] == "Hi Ådne", msg["Subject"])


check("send_templated_email", send_templated)
check("send_templated_email missing template -> TemplateDoesNotExistException", lambda: expect_error(
    lambda: ses.send_templated_email(Source=SENDER, Destination={"ToAddresses": [TO]}, Template=f"none-{RUN}",
                                     TemplateData="{}"), ex.TemplateDoesNotExistException, "TemplateDoesNotExist"))


def bulk():
    r = ses.send_bulk_templated_email(Source=SENDER, Template=T, DefaultTemplateData=json.dumps({"name": "d"}),
                                      Destinations=[{"Destination": {"ToAddresses": ["b1@example.org"]},
                                                     "ReplacementTemplateData": json.dumps({"name": "B1"})},
                                                    {"Destination": {"ToAddresses": ["b2@example.org"]}}])
    expect([s["Status"] for s in r["Status"]] == ["Success", "Success"], r["Status"])


check("send_bulk_templated_email", bulk)

check("send_email no body -> MessageRejected or InvalidParameterValue", lambda: expect_error(
    lambda: ses.send_email(Source=SENDER, Destination={"ToAddresses": ["not-an-address"]},
                           Message={"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "t"}}}),
    ses.exceptions.ClientError))
check("send_raw_email .exe -> MessageRejected", lambda: expect_error(
    lambda: ses.send_raw_email(RawMessage={"Data": (
        f"From: {SENDER}\r\nTo: {TO}\r\nSubject: s\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n"
        "\r\n--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b\r\nContent-Type: application/octet-stream; name=x.exe\r\n"
        "Content-Disposition: attachment; filename=x.exe\r\n\r\nMZ\r\n--b--\r\n").encode()}), ex.MessageRejected,
    "MessageRejected"))
check("send_email unknown configuration set -> ConfigurationSetDoesNotExistException", lambda: expect_error(
    lambda: ses.send_email(Source=SENDER, Destination={"ToAddresses": [TO]}, ConfigurationSetName=f"none-{RUN}",
                           Message={"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "t"}}}),
    ex.ConfigurationSetDoesNotExistException, "ConfigurationSetDoesNotExist"))


def statistics():
    r = ses.get_send_statistics()
    points = r["SendDataPoints"]
    expect(isinstance(points, list), r)
    for p in points:
        expect(isinstance(p["Timestamp"], datetime.datetime), p)
        expect(all(isinstance(p[k], int) for k in ("DeliveryAttempts", "Bounces", "Complaints", "Rejects")), p)


check("get_send_statistics", statistics)
check("get_account_sending_enabled", lambda: expect(ses.get_account_sending_enabled()["Enabled"] is True, "enabled"))

CS = f"v1cs-{RUN}"
check("create_configuration_set", lambda: ses.create_configuration_set(ConfigurationSet={"Name": CS}))
check("create_configuration_set_event_destination", lambda: ses.create_configuration_set_event_destination(
    ConfigurationSetName=CS, EventDestination={"Name": "hook", "Enabled": True, "MatchingEventTypes": ["send", "bounce"],
                                               "SNSDestination": {"TopicARN": "http://127.0.0.1:9/hook"}}))
check("describe_configuration_set", lambda: expect(ses.describe_configuration_set(
    ConfigurationSetName=CS, ConfigurationSetAttributeNames=["eventDestinations"])["EventDestinations"][0]["Name"]
    == "hook", "dest"))
check("list_configuration_sets", lambda: expect(
    any(c["Name"] == CS for c in ses.list_configuration_sets()["ConfigurationSets"]), "missing"))
check("delete_configuration_set", lambda: ses.delete_configuration_set(ConfigurationSetName=CS))
check("delete_template", lambda: ses.delete_template(TemplateName=T))
check("delete_identity", lambda: ses.delete_identity(Identity=SENDER))
check("list_verified_email_addresses", lambda: ses.list_verified_email_addresses())
finish()
