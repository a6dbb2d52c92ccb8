/** The local fake of Slack's Web API lives in `src/local` (local mode serves it too); tests use it from here. */
export * from '../../src/local/slack-api.js';
