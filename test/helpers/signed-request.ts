/** Builders for signed Slack requests live in `src/local` (local mode sends them too); tests use them from here. */
export * from '../../src/local/signed-request.js';
