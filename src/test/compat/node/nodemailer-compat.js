// nodemailer (SMTP transport and SES transport over @aws-sdk/client-sesv2) and the bare SESv2 SendEmailCommand
// against a start-dev node. Run: node nodemailer-compat.js (see ../README.md). NODEMAILER=nodemailer6 runs the
// 6.9 line instead of the latest.
'use strict';
const nodemailer = require(process.env.NODEMAILER || 'nodemailer');
const { SESv2Client, SendEmailCommand, GetAccountCommand, CreateEmailIdentityCommand } =
  require('@aws-sdk/client-sesv2');
const { simpleParser } = (() => { try { return require('mailparser'); } catch (e) { return {}; } })();

const ENDPOINT = process.env.MAILGATE_ENDPOINT || 'http://127.0.0.1:8080';
const ACCESS_KEY = process.env.MAILGATE_ACCESS_KEY || 'AKIAMAILGATEDEV00001';
const SECRET_KEY = process.env.MAILGATE_SECRET_KEY || 'mailgate/dev/secret/key/0000000000000000';
const SMTP_HOST = process.env.MAILGATE_SMTP_HOST || '127.0.0.1';
const SMTP_PORT = Number(process.env.MAILGATE_SMTP_PORT || 2587);
const SMTP_PASSWORD = process.env.MAILGATE_SMTP_PASSWORD || 'BMBDF57JLUw6mNIcDCUjYC/UeTAkwSSrMX77o2/ZvnAe';
const RUN = String(Date.now());
const DOMAIN = process.env.MAILGATE_COMPAT_DOMAIN || 'compat.example';
const SENDER = `node-${RUN}@${DOMAIN}`;
const failures = [];

async function check(name, fn) {
  try {
    await fn();
    console.log(`ok   ${name}`);
  } catch (e) {
    failures.push(name);
    console.log(`FAIL ${name}: ${e && e.name}: ${e && e.message}`);
    if (process.env.VERBOSE) console.log(e);
  }
}

function expect(cond, what) {
  if (!cond) throw new Error(typeof what === 'string' ? what : JSON.stringify(what));
}

// Every captured copy of a message (delivery is one SMTP transaction per recipient, so one copy each), newest first.
async function capturedAll(needle, count) {
  const deadline = Date.now() + 10000;
  for (;;) {
    const list = await (await fetch(`${ENDPOINT}/_mailgate/captured`)).json();
    const ms = list.filter(x => JSON.stringify(x).includes(needle));
    if (ms.length >= count) return ms;
    if (Date.now() > deadline) throw new Error(`${needle}: ${ms.length} of ${count} copies captured`);
    await new Promise(r => setTimeout(r, 300));
  }
}

function recipients(ms) {
  return ms.flatMap(m => m.Envelope.RcptTo).sort();
}

async function captured(needle) {
  const deadline = Date.now() + 10000;
  for (;;) {
    const list = await (await fetch(`${ENDPOINT}/_mailgate/captured`)).json();
    const m = list.find(x => JSON.stringify(x).includes(needle));
    if (m) return m;
    if (Date.now() > deadline) throw new Error(`${needle} not captured`);
    await new Promise(r => setTimeout(r, 300));
  }
}

function header(m, name) {
  const h = m.Headers.find(x => x.name.toLowerCase() === name.toLowerCase());
  return h && h.value;
}

// The parts of a captured message: splits the raw MIME on its boundaries (enough for what nodemailer builds).
function parts(raw) {
  const out = [];
  const re = /boundary="?([^";\r\n]+)"?/gi;
  let b;
  const boundaries = [];
  while ((b = re.exec(raw))) boundaries.push(b[1]);
  for (const bd of boundaries) {
    for (const chunk of raw.split(`--${bd}`).slice(1)) {
      if (chunk.startsWith('--')) continue;
      const [head, ...body] = chunk.replace(/^\r\n/, '').split('\r\n\r\n');
      out.push({ head, body: body.join('\r\n\r\n') });
    }
  }
  return out;
}

const ALL_RECIPIENTS = ['cc@example.org', 'hidden@example.org', 'juergen@example.org', 'plain@example.org'];
const attachmentBytes = Buffer.from(Array.from({ length: 3000 }, (_, i) => i % 256));

function message(tag) {
  return {
    from: `"Zoë Sender, Ltd." <${SENDER}>`,
    to: ['"Jürgen Empfänger" <juergen@example.org>', 'plain@example.org'],
    cc: '"Ça va" <cc@example.org>',
    bcc: 'hidden@example.org',
    replyTo: 'replies@example.com',
    subject: `${tag} Grüße — ünïcödé subject that is long enough to need folding across lines in the header ✓`,
    text: 'Plain text body ✓\nsecond line',
    html: '<p>HTML body ✓</p><img src="cid:logo@mailgate">',
    headers: { 'X-Compat-Run': `${tag}-${RUN}` },
    attachments: [
      { filename: 'data.bin', content: attachmentBytes },
      { filename: 'résumé €.txt', content: 'Lebenslauf ✓\n' },
      { filename: 'logo.png', content: Buffer.from('89504e470d0a1a0a', 'hex'), cid: 'logo@mailgate' },
    ],
  };
}

async function inspectNodemailerMessage(tag, expectBccGone = true) {
  const m = await captured(`${tag}-${RUN}`);
  const raw = m.Raw;
  expect(m.Subject.startsWith(`${tag} Grüße — ünïcödé subject`) && m.Subject.endsWith('✓'), `subject ${m.Subject}`);
  // the capture sink's Headers are decoded: the raw header section must carry encoded words, its parsed form the names
  const head = raw.slice(0, raw.indexOf('\r\n\r\n')).replace(/\r\n[ \t]/g, ' ');
  expect(/^From: =\?UTF-8\?Q\?Zo=C3=AB_Sender=2C_Ltd=2E\?= <node-/im.test(head), `raw From ${head}`);
  expect(header(m, 'From') === `"Zoë Sender, Ltd." <${SENDER}>` || header(m, 'From') === `Zoë Sender, Ltd. <${SENDER}>`,
    `From ${header(m, 'From')}`);
  expect(/^To: =\?UTF-8\?Q\?J=C3=BCrgen_Empf=C3=A4nger\?= <juergen@example.org>, plain@example.org$/im.test(head),
    `raw To in ${head}`);
  if (expectBccGone) expect(!/^bcc:/im.test(raw), 'Bcc header kept');
  expect(!/\r(?!\n)|(?<!\r)\n/.test(raw), 'bare CR or LF in the message');
  const ps = parts(raw);
  const bin = ps.find(p => /filename="?data\.bin/i.test(p.head));
  expect(bin, 'data.bin missing');
  expect(Buffer.from(bin.body.replace(/\s+/g, ''), 'base64').equals(attachmentBytes), 'data.bin bytes differ');
  const utf = ps.find(p => /r=C3=A9sum|r%C3%A9sum|résumé|=\?UTF-8\?[QB]\?/i.test(p.head) && /\.txt|txt/i.test(p.head));
  expect(utf, 'résumé €.txt missing');
  const logo = ps.find(p => /Content-Id:\s*<logo@mailgate>/i.test(p.head));
  expect(logo, 'inline logo part missing');
  const dkimOrMsgId = header(m, 'Message-ID');
  expect(dkimOrMsgId && /@/.test(dkimOrMsgId), 'Message-ID');
  return m;
}

async function main() {
  const sesClient = new SESv2Client({
    endpoint: ENDPOINT, region: 'us-east-1', maxAttempts: 1,
    credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
  });

  await check('SESv2 GetAccount', async () => {
    const r = await sesClient.send(new GetAccountCommand({}));
    expect(r.SendQuota && r.SendingEnabled === true, r);
    expect(r.$metadata.requestId, `no requestId in $metadata: ${JSON.stringify(r.$metadata)}`);
  });
  await check('SESv2 CreateEmailIdentity', async () => {
    await sesClient.send(new CreateEmailIdentityCommand({ EmailIdentity: SENDER }));
  });

  await check('bare SendEmailCommand Simple', async () => {
    const r = await sesClient.send(new SendEmailCommand({
      FromEmailAddress: `"Bäre Client" <${SENDER}>`,
      Destination: { ToAddresses: ['to@example.org'] },
      Content: { Simple: { Subject: { Data: 'bare ✓', Charset: 'UTF-8' },
        Body: { Text: { Data: 'hi ✓' }, Html: { Data: '<b>hi</b>' } },
        Headers: [{ Name: 'X-Compat-Run', Value: `bare-${RUN}` }] } },
    }));
    expect(r.MessageId, r);
    const m = await captured(r.MessageId);
    expect(m.Subject === 'bare ✓', m.Subject);
  });
  await check('bare SendEmailCommand bad address -> BadRequestException', async () => {
    try {
      await sesClient.send(new SendEmailCommand({
        FromEmailAddress: SENDER, Destination: { ToAddresses: ['nope'] },
        Content: { Simple: { Subject: { Data: 's' }, Body: { Text: { Data: 't' } } } },
      }));
    } catch (e) {
      expect(e.name === 'BadRequestException', `got ${e.name}: ${e.message}`);
      expect(e.$metadata.httpStatusCode === 400, e.$metadata);
      expect(e.message && e.message !== 'UnknownError', e.message);
      return;
    }
    throw new Error('no error');
  });

  // nodemailer 7 and later take the SESv2 client; 6.x takes the v1 client's SendRawEmailCommand (the Query API)
  const v1 = Number(require(`${process.env.NODEMAILER || 'nodemailer'}/package.json`).version.split('.')[0]) < 7;
  await check(`nodemailer SES transport (${v1 ? 'v1 SendRawEmail' : 'sesv2'})`, async () => {
    let ses;
    if (v1) {
      const aws = require('@aws-sdk/client-ses');
      const client = new aws.SESClient({ endpoint: ENDPOINT, region: 'us-east-1', maxAttempts: 1,
        credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY } });
      ses = { ses: client, aws };
    } else {
      ses = { sesClient, SendEmailCommand };
    }
    const t = nodemailer.createTransport({ SES: ses });
    const info = await t.sendMail(message('ses'));
    expect(info.messageId && info.response, info);
    await inspectNodemailerMessage('ses');
    const all = recipients(await capturedAll(`ses-${RUN}`, 4));
    expect(JSON.stringify(all) === JSON.stringify(ALL_RECIPIENTS), `recipients ${all}`);
  });

  const smtpOptions = (extra) => Object.assign({
    host: SMTP_HOST, port: SMTP_PORT, secure: false,
    auth: { user: ACCESS_KEY, pass: SMTP_PASSWORD },
    tls: { rejectUnauthorized: false },
  }, extra);

  await check('nodemailer SMTP verify()', async () => {
    await nodemailer.createTransport(smtpOptions()).verify();
  });
  await check('nodemailer SMTP sendMail (STARTTLS where offered)', async () => {
    const t = nodemailer.createTransport(smtpOptions());
    const info = await t.sendMail(message('smtp'));
    expect(/^250/.test(info.response), info.response);
    expect(info.accepted.length === 4 && info.rejected.length === 0, info);
    const m = await inspectNodemailerMessage('smtp');
    expect(info.response.includes(header(m, 'Message-ID').replace(/[<>]/g, '').split('@')[0]),
      `250 reply ${info.response} does not name the Message-ID ${header(m, 'Message-ID')}`);
    const all = recipients(await capturedAll(`smtp-${RUN}`, 4));
    expect(JSON.stringify(all) === JSON.stringify(ALL_RECIPIENTS), `recipients ${all}`);
  });
  if (process.env.MAILGATE_SMTP_TLS_PORT) {
    // a node with a certificate: STARTTLS required on the submission port, and the implicit TLS port
    await check('nodemailer SMTP requireTLS (STARTTLS)', async () => {
      const t = nodemailer.createTransport(smtpOptions({ requireTLS: true }));
      const info = await t.sendMail(Object.assign(message('starttls'), { bcc: [] }));
      expect(/^250/.test(info.response), info.response);
      await inspectNodemailerMessage('starttls');
    });
    await check('nodemailer SMTP secure: true (implicit TLS port)', async () => {
      const t = nodemailer.createTransport(smtpOptions({ port: Number(process.env.MAILGATE_SMTP_TLS_PORT), secure: true }));
      const info = await t.sendMail(Object.assign(message('implicit'), { bcc: [] }));
      expect(/^250/.test(info.response), info.response);
      await inspectNodemailerMessage('implicit');
    });
  }
  await check('nodemailer SMTP AUTH LOGIN', async () => {
    const t = nodemailer.createTransport(smtpOptions({ authMethod: 'LOGIN' }));
    const info = await t.sendMail({ from: SENDER, to: 'login@example.org', subject: 'login', text: 'x' });
    expect(/^250/.test(info.response), info.response);
  });
  await check('nodemailer SMTP pool, several messages on one connection', async () => {
    const t = nodemailer.createTransport(smtpOptions({ pool: true, maxConnections: 1 }));
    const infos = await Promise.all([1, 2, 3].map(i =>
      t.sendMail({ from: SENDER, to: `pool${i}@example.org`, subject: `pool ${i}`, text: 'x' })));
    t.close();
    expect(infos.every(i => /^250/.test(i.response)), infos.map(i => i.response));
  });
  await check('nodemailer SMTP wrong password -> EAUTH 535', async () => {
    const t = nodemailer.createTransport(smtpOptions({ auth: { user: ACCESS_KEY, pass: 'wrong' } }));
    try {
      await t.sendMail({ from: SENDER, to: 'x@example.org', subject: 's', text: 't' });
    } catch (e) {
      expect(e.code === 'EAUTH' && e.responseCode === 535, `${e.code} ${e.responseCode} ${e.response}`);
      return;
    }
    throw new Error('no error');
  });
  await check('nodemailer SMTP 8-bit text body and long lines', async () => {
    const t = nodemailer.createTransport(smtpOptions());
    const long = 'x'.repeat(1200);
    const info = await t.sendMail({
      from: SENDER, to: 'eight@example.org', subject: `8bit-${RUN}`,
      text: `Ünïcode ✓ ${long}`, textEncoding: 'quoted-printable',
    });
    expect(/^250/.test(info.response), info.response);
    const m = await captured(`8bit-${RUN}`);
    expect(m.Raw.split('\r\n').every(l => Buffer.byteLength(l) <= 998), 'line over 998 octets');
  });

  if (failures.length) {
    console.log(`\n${failures.length} failed: ${failures.join(', ')}`);
    process.exit(1);
  }
  console.log('\nall passed');
}

main();
