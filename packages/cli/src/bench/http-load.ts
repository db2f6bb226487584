// The benches' load generator: keep-alive HTTP/1.1 connections that each send one request (a
// POST or a GET) at a time, written and parsed by hand (as wrk or autocannon do) so the client
// spends little of the cores it shares with the server under test. Only what our servers answer
// is understood: responses with a Content-Length; anything else fails the bench loudly.

import { connect, type Socket } from 'node:net';

export interface LoadResponse {
  status: number;
  body: Buffer;
}

const HEADER_END = Buffer.from('\r\n\r\n');

export class LoadConnection {
  private readonly socket: Socket;
  private readonly ready: Promise<void>;
  private buffered: Buffer = Buffer.alloc(0);
  private waiting: { resolve: (r: LoadResponse) => void; reject: (e: Error) => void } | undefined;
  private failure: Error | undefined;

  constructor(private readonly url: URL) {
    this.socket = connect({ host: url.hostname, port: Number(url.port) });
    this.socket.setNoDelay(true);
    this.ready = new Promise((resolve, reject) => {
      this.socket.once('connect', resolve);
      this.socket.once('error', reject);
    });
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', (err) => this.fail(err));
    this.socket.on('close', () => this.fail(new Error('the server closed the connection')));
  }

  /** POSTs `body` (JSON) to `path` and resolves with the whole response. */
  async post(path: string, body: Buffer): Promise<LoadResponse> {
    await this.ready;
    if (this.failure) throw this.failure;
    if (this.waiting) throw new Error('one request at a time per connection');
    const head = `POST ${path} HTTP/1.1\r\nhost: ${this.url.host}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`;
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.socket.write(Buffer.concat([Buffer.from(head, 'latin1'), body]));
    });
  }

  /** GETs `path` and resolves with the whole response. */
  async get(path: string): Promise<LoadResponse> {
    await this.ready;
    if (this.failure) throw this.failure;
    if (this.waiting) throw new Error('one request at a time per connection');
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.socket.write(`GET ${path} HTTP/1.1\r\nhost: ${this.url.host}\r\n\r\n`, 'latin1');
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const end = this.buffered.indexOf(HEADER_END);
    if (end < 0) return;
    const head = this.buffered.toString('latin1', 0, end);
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
    const length = /\r\ncontent-length: *(\d+)/i.exec(head)?.[1];
    if (!status || length === undefined) {
      this.fail(new Error(`unexpected response head: ${head.slice(0, 200)}`));
      return;
    }
    const total = end + HEADER_END.length + Number(length);
    if (this.buffered.length < total) return;
    const body = this.buffered.subarray(end + HEADER_END.length, total);
    this.buffered = this.buffered.subarray(total);
    const waiter = this.waiting;
    this.waiting = undefined;
    waiter?.resolve({ status, body });
  }

  private fail(err: Error): void {
    this.failure ??= err;
    const waiter = this.waiting;
    this.waiting = undefined;
    waiter?.reject(err);
  }
}
