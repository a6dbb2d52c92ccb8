/** Real Redis and MariaDB servers via `scripts/services`; shared with local mode in `devkit/local`. */
export * from '../../devkit/local/services.js';
