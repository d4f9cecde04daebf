/** The lowest uuid: where a walk over credits in id order (keyset pagination) starts. Workflow-safe. */
export const FIRST_ID = '00000000-0000-0000-0000-000000000000';
