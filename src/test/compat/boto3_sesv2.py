#!/usr/bin/python3
"""boto3's sesv2 client against a start-dev node: every call a team's code commonly makes, with botocore's own
response parsing and modeled exceptions. Run: /usr/bin/python3 boto3_sesv2.py (see README.md for the variables)."""
import json
import os

from common import RUN, TO, check, expect, expect_error, finish, client, request_id, parsed, sender, dkim_verifies

ses = client("sesv2")
ex = ses.exceptions
SENDER = sender("sender")


# --- identities ---
def create_identity():
    r = ses.create_email_identity(EmailIdentity=SENDER, Tags=[{"Key": "team", "Value": "compat"}])
    request_id(r)
    expect(r["IdentityType"] == "EMAIL_ADDRESS", r)
    expect("VerifiedForSendingStatus" in r, r)
    return r


check("create_email_identity", create_identity)
check("create_email_identity domain", lambda: expect(
    ses.create_email_identity(EmailIdentity=f"d{RUN}.example.net")["IdentityType"] == "DOMAIN", "type"))
check("get_email_identity", lambda: expect(ses.get_email_identity(EmailIdentity=SENDER)["VerifiedForSendingStatus"],
                                            "not verified"))
check("get_email_identity domain DkimAttributes", lambda: expect(
    "DkimAttributes" in ses.get_email_identity(EmailIdentity=f"d{RUN}.example.net"), "no DkimAttributes"))
check("list_email_identities", lambda: expect(
    any(i["IdentityName"] == SENDER for i in ses.list_email_identities(PageSize=1000)["EmailIdentities"]), "missing"))
check("get_email_identity missing -> NotFoundException",
      lambda: expect_error(lambda: ses.get_email_identity(EmailIdentity=f"nobody-{RUN}@example.com"),
                           ex.NotFoundException, "NotFoundException"))
check("create_email_identity twice -> AlreadyExistsException",
      lambda: expect_error(lambda: ses.create_email_identity(EmailIdentity=SENDER), ex.AlreadyExistsException))

# --- account ---
def account():
    r = ses.get_account()
    request_id(r)
    expect("SendQuota" in r and "Max24HourSend" in r["SendQuota"], r)
    expect(isinstance(r["SendingEnabled"], bool), r)
    expect("ProductionAccessEnabled" in r, r)
    return r


check("get_account", account)

# --- sends ---
def send_simple():
    r = ses.send_email(FromEmailAddress=f"Sénder Näme <{SENDER}>",
                       Destination={"ToAddresses": [f"Rëcipient <{TO}>"], "CcAddresses": ["cc@example.org"]},
                       ReplyToAddresses=["reply@example.com"],
                       Content={"Simple": {"Subject": {"Data": "Grüße from boto3 ✓", "Charset": "UTF-8"},
                                           "Body": {"Text": {"Data": "plain text ✓", "Charset": "UTF-8"},
                                                    "Html": {"Data": "<p>html ✓</p>", "Charset": "UTF-8"}}}},
                       EmailTags=[{"Name": "campaign", "Value": "compat"}])
    request_id(r)
    msg, m = parsed(r["MessageId"])
    expect(msg["Subject"] == "Grüße from boto3 ✓", f"subject {msg['Subject']!r}")
    expect(msg["From"].addresses[0].display_name == "Sénder Näme", f"from {msg['From']!r}")
    expect(msg["To"].addresses[0].display_name == "Rëcipient", f"to {msg['To']!r}")
    expect(msg["Reply-To"] == "reply@example.com", msg["Reply-To"])
    expect(msg.get_content_type() == "multipart/alternative", msg.get_content_type())
    expect(msg.get_body(("plain",)).get_content().strip() == "plain text ✓", "text")
    expect(msg.get_body(("html",)).get_content().strip() == "<p>html ✓</p>", "html")
    expect(dkim_verifies(m["Raw"].encode("utf-8")), "DKIM signature does not verify")
    return r


check("send_email Simple html+text", send_simple)


def send_raw():
    raw = (f"From: Raw Sender <{SENDER}>\r\nTo: {TO}\r\nSubject: raw from boto3\r\nMIME-Version: 1.0\r\n"
           "Content-Type: multipart/mixed; boundary=b1\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nbody\r\n"
           "--b1\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=a.pdf\r\n"
           "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b1--\r\n").encode()
    r = ses.send_email(Content={"Raw": {"Data": raw}})
    request_id(r)
    msg, m = parsed(r["MessageId"])
    att = [p for p in msg.iter_attachments()]
    expect(len(att) == 1 and att[0].get_filename() == "a.pdf", "attachment")
    expect(att[0].get_content() == b"%PDF-1.4\n", "attachment bytes")
    expect(dkim_verifies(m["Raw"].encode("utf-8")), "DKIM signature does not verify")
    return r


check("send_email Raw", send_raw)

TEMPLATE = f"compat-{RUN}"


def create_template():
    r = ses.create_email_template(TemplateName=TEMPLATE, TemplateContent={
        "Subject": "Hello {{name}}", "Text": "Hi {{name}}, you owe {{amount}}", "Html": "<b>Hi {{name}}</b>"})
    request_id(r)


check("create_email_template", create_template)
check("get_email_template", lambda: expect(
    ses.get_email_template(TemplateName=TEMPLATE)["TemplateContent"]["Subject"] == "Hello {{name}}", "subject"))
check("list_email_templates", lambda: expect(
    any(t["TemplateName"] == TEMPLATE for t in ses.list_email_templates()["TemplatesMetadata"]), "missing"))
check("create_email_template twice -> AlreadyExistsException", lambda: expect_error(
    lambda: ses.create_email_template(TemplateName=TEMPLATE, TemplateContent={"Subject": "s", "Text": "t"}),
    ex.AlreadyExistsException))
check("test_render_email_template", lambda: expect("Hello Ada" in ses.test_render_email_template(
    TemplateName=TEMPLATE, TemplateData=json.dumps({"name": "Ada", "amount": 3}))["RenderedTemplate"], "render"))


def send_template():
    r = ses.send_email(FromEmailAddress=SENDER, Destination={"ToAddresses": [TO]},
                       Content={"Template": {"TemplateName": TEMPLATE,
                                             "TemplateData": json.dumps({"name": "Zoë", "amount": 20})}})
    msg, _ = parsed(r["MessageId"])
    expect(msg["Subject"] == "Hello Zoë", msg["Subject"])
    expect("you owe 20" in msg.get_body(("plain",)).get_content(), "amount")
    return r


check("send_email Template", send_template)


def send_bulk():
    r = ses.send_bulk_email(FromEmailAddress=SENDER,
                            DefaultContent={"Template": {"TemplateName": TEMPLATE,
                                                         "TemplateData": json.dumps({"name": "x", "amount": 1})}},
                            BulkEmailEntries=[
                                {"Destination": {"ToAddresses": ["b1@example.org"]},
                                 "ReplacementEmailContent": {"ReplacementTemplate": {
                                     "ReplacementTemplateData": json.dumps({"name": "One", "amount": 1})}}},
                                {"Destination": {"ToAddresses": ["b2@example.org"]},
                                 "ReplacementEmailContent": {"ReplacementTemplate": {
                                     "ReplacementTemplateData": json.dumps({"name": "Two", "amount": 2})}}},
                                {"Destination": {"ToAddresses": ["not an address"]}}])
    request_id(r)
    res = r["BulkEmailEntryResults"]
    expect([e["Status"] for e in res] == ["SUCCESS", "SUCCESS", "INVALID_PARAMETER"], res)
    msg, _ = parsed(res[1]["MessageId"])
    expect(msg["Subject"] == "Hello Two", msg["Subject"])
    return r


check("send_bulk_email", send_bulk)

# errors a client's code catches by class
check("send_email no content -> BadRequestException", lambda: expect_error(
    lambda: ses.send_email(FromEmailAddress=SENDER, Destination={"ToAddresses": [TO]},
                           Content={"Simple": {"Subject": {"Data": "s"}, "Body": {}}}), ex.BadRequestException))
check("send_email bad address -> BadRequestException", lambda: expect_error(
    lambda: ses.send_email(FromEmailAddress=SENDER, Destination={"ToAddresses": ["nope"]},
                           Content={"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "t"}}}}),
    ex.BadRequestException))
check("send_email .exe attachment -> MessageRejected", lambda: expect_error(
    lambda: ses.send_email(Content={"Raw": {"Data": (
        f"From: {SENDER}\r\nTo: {TO}\r\nSubject: s\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n"
        "\r\n--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b\r\nContent-Type: application/octet-stream; name=x.exe\r\n"
        "Content-Disposition: attachment; filename=x.exe\r\n\r\nMZ\r\n--b--\r\n").encode()}}), ex.MessageRejected))
check("send_email missing template -> NotFoundException", lambda: expect_error(
    lambda: ses.send_email(FromEmailAddress=SENDER, Destination={"ToAddresses": [TO]},
                           Content={"Template": {"TemplateName": f"none-{RUN}", "TemplateData": "{}"}}),
    ex.NotFoundException))
check("send_email unknown config set -> NotFoundException", lambda: expect_error(
    lambda: ses.send_email(FromEmailAddress=SENDER, Destination={"ToAddresses": [TO]}, ConfigurationSetName="nope",
                           Content={"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "t"}}}}),
    ex.NotFoundException))

# --- configuration sets and event destinations ---
CS = f"cs-{RUN}"
check("create_configuration_set", lambda: request_id(ses.create_configuration_set(
    ConfigurationSetName=CS, DeliveryOptions={"TlsPolicy": "OPTIONAL"}, SendingOptions={"SendingEnabled": True},
    Tags=[{"Key": "env", "Value": "test"}])))
check("create_configuration_set twice -> AlreadyExistsException", lambda: expect_error(
    lambda: ses.create_configuration_set(ConfigurationSetName=CS), ex.AlreadyExistsException))
check("get_configuration_set", lambda: expect(
    ses.get_configuration_set(ConfigurationSetName=CS)["ConfigurationSetName"] == CS, "name"))
check("list_configuration_sets", lambda: expect(CS in ses.list_configuration_sets()["ConfigurationSets"], "missing"))
check("create_configuration_set_event_destination", lambda: request_id(
    ses.create_configuration_set_event_destination(
        ConfigurationSetName=CS, EventDestinationName="hook",
        EventDestination={"Enabled": True, "MatchingEventTypes": ["SEND", "DELIVERY", "BOUNCE"],
                          "SnsDestination": {"TopicArn": "http://127.0.0.1:9/hook"}})))
check("get_configuration_set_event_destinations", lambda: expect(
    ses.get_configuration_set_event_destinations(ConfigurationSetName=CS)["EventDestinations"][0]["Name"] == "hook",
    "name"))
check("update_configuration_set_event_destination", lambda: ses.update_configuration_set_event_destination(
    ConfigurationSetName=CS, EventDestinationName="hook",
    EventDestination={"Enabled": False, "MatchingEventTypes": ["SEND"]}))
check("event destination ARN -> BadRequestException", lambda: expect_error(
    lambda: ses.create_configuration_set_event_destination(
        ConfigurationSetName=CS, EventDestinationName="sns",
        EventDestination={"Enabled": True, "MatchingEventTypes": ["SEND"],
                          "SnsDestination": {"TopicArn": "arn:aws:sns:us-east-1:123456789012:t"}}),
    ex.BadRequestException))
check("send_email with configuration set", lambda: ses.send_email(
    FromEmailAddress=SENDER, Destination={"ToAddresses": [TO]}, ConfigurationSetName=CS,
    Content={"Simple": {"Subject": {"Data": "cs"}, "Body": {"Text": {"Data": "t"}}}}))
check("delete_configuration_set_event_destination", lambda: ses.delete_configuration_set_event_destination(
    ConfigurationSetName=CS, EventDestinationName="hook"))
check("get_configuration_set missing -> NotFoundException", lambda: expect_error(
    lambda: ses.get_configuration_set(ConfigurationSetName=f"none-{RUN}"), ex.NotFoundException))

# --- tags --- (SES has no call that answers the account id; start-dev's account is dev.accountId)
ACCOUNT_ID = os.environ.get("MAILGATE_ACCOUNT_ID", "000000000000")


def tags():
    arn = f"arn:aws:ses:us-east-1:{ACCOUNT_ID}:configuration-set/{CS}"
    request_id(ses.tag_resource(ResourceArn=arn, Tags=[{"Key": "owner", "Value": "compat"}]))
    t = ses.list_tags_for_resource(ResourceArn=arn)["Tags"]
    expect({"Key": "owner", "Value": "compat"} in t and {"Key": "env", "Value": "test"} in t, t)
    ses.untag_resource(ResourceArn=arn, TagKeys=["owner"])
    t = ses.list_tags_for_resource(ResourceArn=arn)["Tags"]
    expect({"Key": "owner", "Value": "compat"} not in t, t)


check("tag_resource / list_tags_for_resource / untag_resource", tags)
check("list_tags_for_resource bad ARN -> BadRequestException", lambda: expect_error(
    lambda: ses.list_tags_for_resource(ResourceArn="not-an-arn"), ex.BadRequestException))

# --- suppression list ---
SUP = f"suppressed-{RUN}@example.org"
check("put_suppressed_destination", lambda: request_id(ses.put_suppressed_destination(EmailAddress=SUP,
                                                                                       Reason="BOUNCE")))
check("get_suppressed_destination", lambda: expect(
    ses.get_suppressed_destination(EmailAddress=SUP)["SuppressedDestination"]["Reason"] == "BOUNCE", "reason"))
check("list_suppressed_destinations", lambda: expect(
    any(s["EmailAddress"] == SUP for s in
        ses.list_suppressed_destinations(Reasons=["BOUNCE"])["SuppressedDestinationSummaries"]), "missing"))
check("put_suppressed_destination bad reason -> BadRequestException", lambda: expect_error(
    lambda: ses.put_suppressed_destination(EmailAddress=SUP, Reason="SPAM"), ex.BadRequestException))
check("delete_suppressed_destination", lambda: ses.delete_suppressed_destination(EmailAddress=SUP))
check("get_suppressed_destination deleted -> NotFoundException", lambda: expect_error(
    lambda: ses.get_suppressed_destination(EmailAddress=SUP), ex.NotFoundException))

# --- contact lists ---
CL = f"list-{RUN}"
check("create_contact_list", lambda: request_id(ses.create_contact_list(
    ContactListName=CL, Topics=[{"TopicName": "news", "DisplayName": "News", "Description": "d",
                                 "DefaultSubscriptionStatus": "OPT_IN"}], Description="compat")))
check("get_contact_list", lambda: expect(ses.get_contact_list(ContactListName=CL)["Topics"][0]["TopicName"] == "news",
                                          "topic"))
check("list_contact_lists", lambda: expect(
    any(c["ContactListName"] == CL for c in ses.list_contact_lists()["ContactLists"]), "missing"))
check("create_contact", lambda: ses.create_contact(
    ContactListName=CL, EmailAddress="c1@example.org",
    TopicPreferences=[{"TopicName": "news", "SubscriptionStatus": "OPT_OUT"}], AttributesData='{"a":1}'))
check("get_contact", lambda: expect(
    ses.get_contact(ContactListName=CL, EmailAddress="c1@example.org")["TopicPreferences"][0]["SubscriptionStatus"]
    == "OPT_OUT", "pref"))
check("list_contacts", lambda: expect(
    len(ses.list_contacts(ContactListName=CL)["Contacts"]) == 1, "count"))
check("list_contacts filtered", lambda: ses.list_contacts(
    ContactListName=CL, Filter={"FilteredStatus": "OPT_IN", "TopicFilter": {"TopicName": "news"}}))
check("update_contact", lambda: ses.update_contact(ContactListName=CL, EmailAddress="c1@example.org",
                                                   UnsubscribeAll=True))
check("send_email with ListManagementOptions", lambda: ses.send_email(
    FromEmailAddress=SENDER, Destination={"ToAddresses": ["c2@example.org"]},
    ListManagementOptions={"ContactListName": CL, "TopicName": "news"},
    Content={"Simple": {"Subject": {"Data": "news"}, "Body": {"Text": {"Data": "t"}}}}))
check("delete_contact", lambda: ses.delete_contact(ContactListName=CL, EmailAddress="c1@example.org"))
check("get_contact missing -> NotFoundException", lambda: expect_error(
    lambda: ses.get_contact(ContactListName=CL, EmailAddress="c1@example.org"), ex.NotFoundException))
check("delete_contact_list", lambda: ses.delete_contact_list(ContactListName=CL))

# --- cleanup ---
check("delete_email_template", lambda: ses.delete_email_template(TemplateName=TEMPLATE))
check("delete_configuration_set", lambda: ses.delete_configuration_set(ConfigurationSetName=CS))
check("delete_email_identity", lambda: ses.delete_email_identity(EmailIdentity=SENDER))
check("delete_email_identity missing -> NotFoundException", lambda: expect_error(
    lambda: ses.delete_email_identity(EmailIdentity=SENDER), ex.NotFoundException))
finish()
