#!/usr/bin/ruby
# Ruby's mail gem over SMTP, configured as Action Mailer configures it (smtp_settings: address, port, user_name,
# password, authentication, enable_starttls_auto), against a start-dev node. Run: ruby ruby_mail_smtp.rb.
# MAILGATE_SMTP_TLS=starttls (enable_starttls: true) or ssl (tls: true, the implicit TLS port) with a certificate.
require 'mail'
require 'json'
require 'net/http'

ENDPOINT = ENV.fetch('MAILGATE_ENDPOINT', 'http://127.0.0.1:8080')
RUN = (Time.now.to_f * 1000).to_i.to_s
SENDER = "ruby-#{RUN}@#{ENV.fetch('MAILGATE_COMPAT_DOMAIN', 'compat.example')}"
TLS = ENV.fetch('MAILGATE_SMTP_TLS', 'plain')
$failures = []

def smtp_settings(overrides = {})
  {
    address: ENV.fetch('MAILGATE_SMTP_HOST', '127.0.0.1'), port: Integer(ENV.fetch('MAILGATE_SMTP_PORT', '2587')),
    domain: 'app.example.com', user_name: ENV.fetch('MAILGATE_ACCESS_KEY', 'AKIAMAILGATEDEV00001'),
    password: ENV.fetch('MAILGATE_SMTP_PASSWORD', 'BMBDF57JLUw6mNIcDCUjYC/UeTAkwSSrMX77o2/ZvnAe'),
    authentication: :plain, enable_starttls_auto: true, enable_starttls: TLS == 'starttls', tls: TLS == 'ssl',
    openssl_verify_mode: 'none', open_timeout: 10, read_timeout: 20
  }.merge(overrides)
end

def check(name)
  yield
  puts "ok   #{name}"
rescue StandardError => e
  $failures << name
  puts "FAIL #{name}: #{e.class}: #{e.message}"
end

def expect(cond, what)
  raise what.to_s unless cond
end

def captured(needle)
  deadline = Time.now + 10
  loop do
    list = JSON.parse(Net::HTTP.get(URI("#{ENDPOINT}/_mailgate/captured")))
    m = list.find { |x| x.to_json.include?(needle) }
    return m if m
    raise "#{needle} not captured" if Time.now > deadline
    sleep 0.3
  end
end

PDF = "%PDF-1.4\n".b + (0..255).map(&:chr).join.b * 4

check('multipart message with attachment (as Action Mailer builds it)') do
  # Action Mailer's shape for a mail with text, HTML and an attachment: multipart/mixed around multipart/alternative
  mail = Mail.new do
    from     "Rüby Äpp <#{SENDER}>"
    to       ['"Jöhn Doe" <john@example.org>', 'jane@example.org']
    bcc      'secret@example.org'
    reply_to 'support@example.com'
    subject  "ruby #{RUN} Grüße ✓"
  end
  mail.charset = 'UTF-8'
  alternative = Mail::Part.new { content_type 'multipart/alternative' }
  alternative.add_part(Mail::Part.new { content_type 'text/plain; charset=UTF-8'; body "Text ✓\r\nline two" })
  alternative.add_part(Mail::Part.new { content_type 'text/html; charset=UTF-8'; body '<p>HTML ✓</p>' })
  mail.add_part(alternative)
  mail.attachments['report-ü.pdf'] = { mime_type: 'application/pdf', content: PDF }
  mail.delivery_method :smtp, smtp_settings
  mail.deliver!
  m = captured("ruby #{RUN}")
  raw = m['Raw']
  parsed = Mail.new(raw.b)
  expect(parsed.subject == "ruby #{RUN} Grüße ✓", "subject #{parsed.subject.inspect}")
  expect(parsed[:from].display_names == ['Rüby Äpp'], "from #{parsed[:from].display_names.inspect}")
  expect(parsed[:to].display_names.first == 'Jöhn Doe', "to #{parsed[:to].display_names.inspect}")
  expect(parsed[:bcc].nil?, 'Bcc header kept')
  expect(parsed.text_part.decoded.include?('Text ✓'), "text #{parsed.text_part.decoded.inspect}")
  expect(parsed.html_part.decoded.include?('HTML ✓'), 'html')
  att = parsed.attachments.first
  expect(att && att.filename == 'report-ü.pdf', "attachment #{att && att.filename.inspect}")
  expect(att.decoded.b == PDF, 'attachment bytes')
  expect(raw.lines.all? { |l| l.end_with?("\r\n") || l == raw.lines.last }, 'bare LF')
end

check('AUTH LOGIN') do
  mail = Mail.new(from: SENDER, to: 'login@example.org', subject: "login #{RUN}", body: 'x')
  mail.delivery_method :smtp, smtp_settings(authentication: :login)
  mail.deliver!
  captured("login #{RUN}")
end

check('wrong password -> Net::SMTPAuthenticationError 535') do
  mail = Mail.new(from: SENDER, to: 'x@example.org', subject: 's', body: 'x')
  mail.delivery_method :smtp, smtp_settings(password: 'wrong')
  begin
    mail.deliver!
    raise 'no error'
  rescue Net::SMTPAuthenticationError => e
    expect(e.message.start_with?('535'), e.message)
  end
end

if $failures.empty?
  puts "\nall passed"
else
  puts "\n#{$failures.size} failed: #{$failures.join(', ')}"
  exit 1
end
