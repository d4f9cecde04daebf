/** The refusal of a workflow start nobody recorded (workflow-safe: no I/O). */
export const UNRECORDED_REQUEST = 'UNRECORDED_REQUEST';
export const unrecordedDetail = 'this workflow was not started from a recorded request (the API records each request before it starts its workflow)';
