/** The local fake of Slack's Web API lives in `devkit/local` (local mode serves it too); tests use it from here. */
export * from '../../devkit/local/slack-api.js';
