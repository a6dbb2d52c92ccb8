import type { App } from '@slack/bolt';
import { STEPS, type StepId } from '../../src/steps/definitions.js';
import type { HandlerDeps } from '../deps.js';
import { workflowStepListener } from './workflow-step.js';

/** Registers one listener per Workflow Builder step the manifest declares (`src/steps/definitions.ts`). */
export function register(app: App, deps: HandlerDeps): void {
  for (const callbackId of Object.keys(STEPS) as StepId[])
    app.function(callbackId, workflowStepListener(deps, callbackId));
}
