// Everything the worker's workflow bundle contains.
export { paymentWorkflow, paymentOutcome, paymentStage } from './payment';
export { reversalWorkflow } from './reversal';
export { recalculationWorkflow, recalculationProgress, recalculationApproval } from './recalculation';
export { paymentBatchWorkflow, paymentBatchProgress } from './payment-batch';
export { importWorkflow, importProgress } from './import';
