// The demo's SMTP sink: a real SMTP server (smtp-server package) that prints every mail it
// receives as one JSON line on stdout. Usage: node demo-smtp-sink.mjs HOST PORT
import { SMTPServer } from 'smtp-server';

const [host = '127.0.0.1', port = '2525'] = process.argv.slice(2);
const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS', 'AUTH'],
  logger: false,
  disableReverseLookup: true,
  onData(stream, session, cb) {
    const chunks = [];
    stream.on('data', (c) => chunks.push(c));
    stream.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const [head, ...rest] = raw.split('\r\n\r\n');
      const subject = /^Subject: (.*)$/im.exec(head)?.[1] ?? '';
      process.stdout.write(
        JSON.stringify({
          from: session.envelope.mailFrom?.address,
          to: session.envelope.rcptTo.map((r) => r.address),
          subject,
          body: rest.join('\r\n\r\n').trim(),
        }) + '\n',
      );
      cb();
    });
  },
});
server.listen(Number(port), host, () => process.stdout.write(JSON.stringify({ listening: `${host}:${port}` }) + '\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
