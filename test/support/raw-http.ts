import net from 'node:net';

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  text: string;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

function decodeChunked(buf: Buffer): Buffer {
  // (a tolerant decoder: enough for the answers of one test server)
  const parts: Buffer[] = [];
  let i = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', i);
    if (eol < 0) break;
    const size = parseInt(buf.subarray(i, eol).toString('latin1'), 16);
    if (!size) break;
    parts.push(buf.subarray(eol + 2, eol + 2 + size));
    i = eol + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

/**
 * Sends bytes exactly as given (duplicate headers, un-normalised paths, bodies longer than any
 * limit) over one TCP connection and reads the answer until the server closes it.
 */
export function rawRequest(baseUrl: string, head: string, body: Buffer | string = '', opts: { localAddress?: string } = {}): Promise<RawAnswer> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: url.hostname, port: Number(url.port), localAddress: opts.localAddress });
    const chunks: Buffer[] = [];
    socket.setTimeout(15_000, () => socket.destroy(new Error('no answer within 15 s')));
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', (err) => {
      // The server may close early (e.g. after refusing a huge body); keep what it answered.
      if (chunks.length) socket.emit('end');
      else reject(err);
    });
    let done = false;
    socket.on('end', () => {
      if (done) return;
      done = true;
      const all = Buffer.concat(chunks);
      const split = all.indexOf('\r\n\r\n');
      const headText = all.subarray(0, split).toString('latin1');
      const [statusLine, ...lines] = headText.split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines) {
        const c = l.indexOf(':');
        headers[l.slice(0, c).trim().toLowerCase()] = l.slice(c + 1).trim();
      }
      let payload: Buffer = all.subarray(split + 4);
      if (/chunked/i.test(headers['transfer-encoding'] ?? '')) payload = decodeChunked(payload);
      const text = payload.toString('utf8');
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        /* not JSON */
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, text, body: parsed });
      socket.destroy();
    });
    socket.write(head.replace(/\r?\n/g, '\r\n').replace(/(\r\n)*$/, '') + '\r\n' + (head.match(/\r?\nconnection:/i) ? '' : 'Connection: close\r\n') + '\r\n');
    // No half-close: Node's server drops a request whose client ended first; `Connection: close`
    // makes it close the connection once it has answered.
    if (body.length) socket.write(body);
  });
}
