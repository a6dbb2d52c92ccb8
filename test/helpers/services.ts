/** Real Redis and MariaDB servers via `scripts/services`; shared with local mode in `src/local`. */
export * from '../../src/local/services.js';
