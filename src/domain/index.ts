export * from './errors';
export * from './money';
export * from './dates';
export * from './schedule';
export * from './waterfall';
export * from './as-of';
