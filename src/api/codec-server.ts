import cors from 'cors';
import express, { Router } from 'express';
import type { Payload } from '@temporalio/common';
import type { DataSource } from 'typeorm';
import { AesGcmPayloadCodec, type CodecKey } from '../security/payload-codec';
import { requireRole } from './auth';
import { sendProblem } from './problem';

/**
 * The Temporal UI's (and CLI's) "codec server" convention: POST /codec/decode and /codec/encode
 * take `{ payloads: [{ metadata: { name: base64 }, data: base64 }] }` and answer the same shape.
 * Only for API keys of at least viewer (Authorization: Bearer <key>), and across origins only for
 * the Temporal UI's (CODEC_CORS_ORIGINS, default the UI's URL). Mounted before the API's 16 kB
 * JSON limit: a history page holds many payloads.
 */
export interface CodecServerOptions {
  keys?: CodecKey[];
  corsOrigins: string[];
}

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

const fromJson = (p: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(String(v), 'base64')])),
  data: Buffer.from(p.data ?? '', 'base64'),
});

const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? new Uint8Array()).toString('base64')])),
  data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
});

export function codecRoutes(ds: DataSource, opts: CodecServerOptions): Router {
  const r = Router();
  const codec = opts.keys?.length ? new AesGcmPayloadCodec(opts.keys) : undefined;
  const allowCors = cors({
    origin: opts.corsOrigins,
    methods: ['POST'],
    allowedHeaders: ['Authorization', 'Content-Type', 'X-Namespace'],
    credentials: true,
    maxAge: 600,
  });
  r.options('/codec/:op', allowCors);
  for (const op of ['decode', 'encode'] as const) {
    r.post(`/codec/${op}`, allowCors, requireRole(ds, 'viewer'), express.json({ limit: '4mb' }), async (req, res) => {
      if (!codec) return sendProblem(res, { status: 404, code: 'CODEC_NOT_CONFIGURED', title: 'Not found', detail: 'payloads are not encrypted (PAYLOAD_CODEC_KEYS is not set)' });
      const payloads = (req.body as { payloads?: unknown })?.payloads;
      if (!Array.isArray(payloads)) {
        return sendProblem(res, { status: 400, code: 'PAYLOADS_INVALID', title: 'The request is not valid', detail: 'send { "payloads": [...] }', errors: [{ field: 'payloads', code: 'PAYLOADS_INVALID', detail: 'must be an array' }] });
      }
      try {
        const out = await codec[op](payloads.map((p) => fromJson(p as JsonPayload)));
        res.setHeader('Cache-Control', 'no-store');
        res.json({ payloads: out.map(toJson) });
      } catch (err) {
        sendProblem(res, { status: 400, code: 'PAYLOAD_UNREADABLE', title: 'The request is not valid', detail: (err as Error).message });
      }
    });
  }
  return r;
}
