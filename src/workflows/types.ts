// Types shared by the workflows, the activities and the API. Workflow-safe: no I/O imports.

export interface PaymentRequest {
  paymentId: string;
  creditId: string;
  /** Decimal string, e.g. "150.00". */
  amount: string;
  paymentDate: string;
  reference: string | null;
  idempotencyKey: string;
  /** The API key's id and name; never the key itself. */
  actor: string | null;
}

export interface Refusal {
  code: string;
  detail: string;
  field?: string;
  meta?: Record<string, string>;
}

/** A step's answer: go on, or the refusal that ends the workflow. Refusals are answers, not errors. */
export type Verdict = { ok: true } | { ok: false; refusal: Refusal };

/** The workflow and run a step belongs to, for the audit log. */
export interface WorkflowRef {
  workflowId: string;
  runId: string;
}

export type PaymentOutcome =
  | { status: 'APPLIED'; paymentId: string }
  | { status: 'REJECTED'; paymentId: string; refusal: Refusal }
  | { status: 'FAILED'; paymentId: string; cause: string };

export interface ReversalRequest {
  paymentId: string;
  reason: string;
  actor: string | null;
}

export type ReversalOutcome =
  | { status: 'REVERSED'; paymentId: string }
  | { status: 'REFUSED'; paymentId: string; refusal: Refusal };

export const paymentWorkflowId = (paymentId: string) => `payment-${paymentId}`;
export const reversalWorkflowId = (paymentId: string) => `reversal-${paymentId}`;

import type { RecalculationMode, RecalculationScope } from '../domain/status';

export type { RecalculationMode, RecalculationScope };

export interface RecalculationInput {
  mode: RecalculationMode;
  /** FULL when absent (batches started before scopes existed). */
  scope?: RecalculationScope;
  /** INCREMENTAL: each credit is proven at least this often (RECALC_FULL_EVERY_DAYS). */
  fullEveryDays?: number;
  creditIds?: string[];
  chunkSize: number;
  parallelism: number;
  startedBy: string | null;
  /** Set by continue-as-new: where the batch was and what it counted. */
  carried?: RecalculationProgress;
}

export interface RecalculationProgress {
  runId: string;
  mode: RecalculationMode;
  scope?: RecalculationScope;
  status: string;
  phase: 'SCANNING' | 'AWAITING_APPROVAL' | 'APPLYING' | 'DONE';
  scanned: number;
  inconsistent: number;
  corrected: number;
  errors: number;
  /** The last credit id handled (keyset position). */
  position: string;
  startedAtMs: number;
  creditsPerSecond: number;
  approvedBy?: string;
  alerted?: boolean;
}

export interface ReviewDecision {
  approve: boolean;
  decidedBy: string;
}

export type PaymentBatchMode = 'APPLY' | 'DRY_RUN';

export interface PaymentBatchInput {
  batchId: string;
  mode: PaymentBatchMode;
  /** Lines per chunk (about: a credit's lines stay in one chunk). */
  chunkLines: number;
  /** Chunks applied at once (they lock disjoint credits). */
  parallelism: number;
  actor: string | null;
  /** A reversal: the file whose applied payments this batch reverses, and why. */
  reverses?: { batchId: string; reason: string };
  carried?: PaymentBatchProgress;
}

export interface PaymentBatchProgress {
  batchId: string;
  mode: PaymentBatchMode;
  status: 'RUNNING' | 'COMPLETED' | 'CANCELLED' | 'FAILED';
  linesRead: number;
  applied: number;
  rejected: number;
  duplicate: number;
  amountApplied: string;
  chunks: number;
  position: string;
  startedAtMs: number;
  linesPerSecond: number;
}

export const paymentBatchWorkflowId = (batchId: string) => `payment-batch-${batchId}`;

export type ImportMode = 'APPLY' | 'DRY_RUN';

export interface ImportInput {
  importId: string;
  mode: ImportMode;
  /** Legacy credits per chunk (each chunk one transaction). */
  chunkCredits: number;
  /** Chunks imported at once (they hold disjoint credits). */
  parallelism: number;
  actor: string | null;
  carried?: ImportProgress;
}

/** What a chunk of an import did (and, summed, what the import did so far). */
export interface ImportChunkTotals {
  /** Credits handled (loaded, unchanged or refused). */
  credits: number;
  loaded: number;
  unchanged: number;
  refused: number;
  withDifferences: number;
  paymentsApplied: number;
  paymentsNotApplied: number;
  amountApplied: string;
}

export interface ImportProgress extends ImportChunkTotals {
  importId: string;
  mode: ImportMode;
  status: 'RUNNING' | 'COMPLETED' | 'CANCELLED' | 'FAILED';
  creditsRead: number;
  paymentsRead: number;
  chunks: number;
  /** The last legacy credit id handled (keyset position; '' before the first). */
  position: string;
  startedAtMs: number;
  creditsPerSecond: number;
}

export const importWorkflowId = (importId: string) => `import-${importId}`;
