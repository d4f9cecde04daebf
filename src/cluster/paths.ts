import path from 'node:path';

/** Whether this code runs compiled (dist/src/cluster/*.js) or from its sources (src/cluster/*.ts, through tsx). */
export const COMPILED = __filename.endsWith('.js');
/** The repository (or image) root: where package.json and deploy/ are. */
export const PROJECT_ROOT = path.resolve(__dirname, COMPILED ? '../../..' : '../..');
/** src/ itself, or its compiled copy dist/src/. */
export const SOURCE_ROOT = path.resolve(__dirname, '..');
