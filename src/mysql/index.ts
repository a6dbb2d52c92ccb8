/** MySQL data layer: connections, table shape, copy, checksums and diff. */
export * from './connection.js';
export * from './copy.js';
export * from './diff.js';
export * from './identifiers.js';
export * from './privileges.js';
export * from './statements.js';
export * from './table.js';
export * from './verify.js';
