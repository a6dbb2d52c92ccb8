/** Builders for signed Slack requests live in `devkit/local` (local mode sends them too); tests use them from here. */
export * from '../../devkit/local/signed-request.js';
