"""Shared bits of the Python compatibility scripts: the start-dev endpoint, credentials and a check runner."""
import json
import os
import sys
import time
import traceback
import urllib.request

ENDPOINT = os.environ.get("MAILGATE_ENDPOINT", "http://127.0.0.1:8080")
ACCESS_KEY = os.environ.get("MAILGATE_ACCESS_KEY", "AKIAMAILGATEDEV00001")
SECRET_KEY = os.environ.get("MAILGATE_SECRET_KEY", "mailgate/dev/secret/key/0000000000000000")
SMTP_HOST = os.environ.get("MAILGATE_SMTP_HOST", "127.0.0.1")
SMTP_PORT = int(os.environ.get("MAILGATE_SMTP_PORT", "2587"))
SMTP_PASSWORD = os.environ.get("MAILGATE_SMTP_PASSWORD", "BMBDF57JLUw6mNIcDCUjYC/UeTAkwSSrMX77o2/ZvnAe")
RUN = str(int(time.time() * 1000))
TO = "recipient@example.org"
# the senders' domain: a domain identity (so every message is DKIM-signed) that dkim_check.py verifies
DOMAIN = os.environ.get("MAILGATE_COMPAT_DOMAIN", "compat.example")

failures = []


def check(name, fn):
    """Runs one call; a failure is recorded and printed, and the script goes on."""
    try:
        result = fn()
        print(f"ok   {name}")
        return result
    except Exception as e:  # noqa: BLE001 - every failure is reported
        failures.append(name)
        print(f"FAIL {name}: {type(e).__name__}: {e}")
        if os.environ.get("VERBOSE"):
            traceback.print_exc()
        return None


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def expect_error(fn, exc_class, code=None):
    """The call must raise the modeled exception class (botocore parsed the error), with that code."""
    try:
        fn()
    except exc_class as e:
        if code is not None:
            expect(e.response["Error"]["Code"] == code, f"code {e.response['Error']['Code']!r}, wanted {code!r}")
        expect(e.response["Error"].get("Message"), f"no message in {e.response!r}")
        return e
    raise AssertionError(f"no {exc_class.__name__} raised")


def captured(message_id=None, wait=10.0):
    """The start-dev capture sink's messages (newest first), or the one whose Message-ID names message_id."""
    deadline = time.time() + wait
    while True:
        with urllib.request.urlopen(ENDPOINT + "/_mailgate/captured") as r:
            body = json.load(r)
        items = body if isinstance(body, list) else body.get("messages", body)
        if message_id is None:
            return items
        for m in items:
            if message_id in json.dumps(m):
                return m
        if time.time() > deadline:
            raise AssertionError(f"message {message_id} not captured")
        time.sleep(0.3)


def note(problem):
    """A difference found inside a call that otherwise worked: reported once, and the script goes on."""
    if problem not in failures:
        failures.append(problem)
        print(f"FAIL {problem}")


def client(service):
    """boto3's client of the node ("sesv2" or "ses"), retries off (an error must show as it came)."""
    import boto3
    from botocore.config import Config
    return boto3.client(service, endpoint_url=ENDPOINT, region_name="us-east-1", aws_access_key_id=ACCESS_KEY,
                        aws_secret_access_key=SECRET_KEY, config=Config(retries={"max_attempts": 1}))


def request_id(resp):
    """SES answers every request with x-amzn-RequestId, which botocore reports as ResponseMetadata.RequestId."""
    if not resp["ResponseMetadata"].get("RequestId"):
        note("ResponseMetadata.RequestId (x-amzn-RequestId) missing")
    return resp


def parsed(needle):
    """The captured message that names needle, parsed as a receiving MTA's software would, and its capture entry."""
    import email
    import email.policy
    m = captured(needle)
    return email.message_from_bytes(m["Raw"].encode("utf-8"), policy=email.policy.default), m


def sender(prefix):
    """A sender address of this run at the compat domain, whose identity is created first if need be."""
    ensure_domain()
    return f"{prefix}-{RUN}@{DOMAIN}"


def ensure_domain():
    """The senders' domain identity, created when the node does not have it yet."""
    ses = client("sesv2")
    try:
        ses.create_email_identity(EmailIdentity=DOMAIN)
    except ses.exceptions.AlreadyExistsException:
        pass


def dkim_key():
    """The domain's DKIM TXT record as GetEmailIdentity's DnsRecords give it (a field boto3 drops: signed by hand)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    url = f"{ENDPOINT}/v2/email/identities/{DOMAIN}"
    req = AWSRequest(method="GET", url=url)
    SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "ses", "us-east-1").add_auth(req)
    with urllib.request.urlopen(urllib.request.Request(url, headers=dict(req.headers.items()))) as r:
        records = json.load(r)["DnsRecords"]
    return next(rec for rec in records if "._domainkey." in rec["Name"])


def dkim_verifies(raw, record=None):
    """True when the message's DKIM signature verifies against the domain's published key (Debian python3-dkim)."""
    import dkim
    record = record or dkim_key()

    def dns(name, timeout=5):
        name = name.decode() if isinstance(name, bytes) else name
        return record["Value"].encode() if name.rstrip(".") == record["Name"] else None

    return dkim.verify(raw, dnsfunc=dns)


def finish():
    if failures:
        print(f"\n{len(failures)} failed: {', '.join(failures)}")
        sys.exit(1)
    print("\nall passed")
