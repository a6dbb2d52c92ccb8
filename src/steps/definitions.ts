/**
 * Capstan's Workflow Builder custom steps, as the app manifest's `functions` declares them
 * (https://docs.slack.dev/tools/bolt-js/concepts/custom-steps): one entry per step, its inputs and
 * outputs typed with Slack's types (https://docs.slack.dev/reference/types). `manifest.yml` must
 * say exactly this (a unit test compares them). Pure data: nothing here imports anything.
 */

/** The Slack types the steps use. */
export const SLACK_TYPES = {
  string: 'string',
  integer: 'integer',
  userId: 'slack#/types/user_id',
  channelId: 'slack#/types/channel_id',
  /** A Unix timestamp in seconds. */
  timestamp: 'slack#/types/timestamp',
} as const;

/** One input or output parameter, in the manifest's form. */
export interface StepParameter {
  type: (typeof SLACK_TYPES)[keyof typeof SLACK_TYPES];
  title: string;
  description: string;
  is_required?: boolean;
  hint?: string;
}

/** One step: the manifest's `functions.<callback_id>`. */
export interface StepDefinition {
  title: string;
  description: string;
  input_parameters: Record<string, StepParameter>;
  output_parameters: Record<string, StepParameter>;
}

const user: StepParameter = {
  type: SLACK_TYPES.userId,
  title: 'Run as',
  description:
    'The person the step acts for: their roles decide what is allowed, and approvals are asked as for them.',
  is_required: true,
  hint: 'Usually "Person who used this workflow".',
};

const channel: StepParameter = {
  type: SLACK_TYPES.channelId,
  title: 'Progress channel',
  description: 'Capstan posts the progress of the step in a thread in this channel.',
  is_required: true,
};

const environment: StepParameter = {
  type: SLACK_TYPES.string,
  title: 'Environment',
  description: 'The environment name, e.g. demo.',
  is_required: true,
};

const database: StepParameter = {
  type: SLACK_TYPES.string,
  title: 'Database',
  description: 'The RDS DB instance identifier, e.g. orders-db.',
  is_required: true,
};

const jobId: StepParameter = {
  type: SLACK_TYPES.string,
  title: 'Job id',
  description: 'The Capstan job that did the work (its thread tells the whole story).',
  is_required: true,
};

const status: StepParameter = {
  type: SLACK_TYPES.string,
  title: 'Status',
  description: 'What Capstan read back at the end of the job.',
  is_required: true,
};

/** Every step, by `callback_id`. */
export const STEPS = {
  create_environment: {
    title: 'Create environment',
    description: 'Creates an environment from a blueprint, as /env create does, and waits until it is up.',
    input_parameters: {
      environment,
      blueprint: {
        type: SLACK_TYPES.string,
        title: 'Blueprint',
        description: 'The blueprint to make it from (default: the configured one).',
      },
      version: {
        type: SLACK_TYPES.string,
        title: 'Version',
        description: 'The version to run (default: the blueprint’s).',
      },
      size: {
        type: SLACK_TYPES.integer,
        title: 'Size',
        description: 'How many instances (default: the blueprint’s).',
      },
      ttl: {
        type: SLACK_TYPES.string,
        title: 'Time to live',
        description: 'How long before it expires, e.g. 8h or 2d (default: the blueprint’s).',
      },
      channel,
      user,
    },
    output_parameters: {
      job_id: jobId,
      environment: { ...environment, description: 'The environment created.' },
      status: { ...status, description: 'up, once every instance is InService and healthy.' },
      instances: {
        type: SLACK_TYPES.integer,
        title: 'Instances',
        description: 'How many instances are in service.',
      },
      version: { type: SLACK_TYPES.string, title: 'Version', description: 'The version it runs.' },
      expires_at: {
        type: SLACK_TYPES.timestamp,
        title: 'Expires at',
        description: 'When Capstan deletes it unless extended.',
      },
    },
  },
  delete_environment: {
    title: 'Delete environment',
    description: 'Deletes an environment, as /env delete does, and checks nothing of it remains.',
    input_parameters: { environment, channel, user },
    output_parameters: {
      job_id: jobId,
      environment: { ...environment, description: 'The environment deleted.' },
      status: { ...status, description: 'deleted, once nothing tagged with the environment remains.' },
    },
  },
  lb_disable: {
    title: 'Take out of the load balancer',
    description: 'Puts an environment’s instances (or one) in Standby, as /lb disable does.',
    input_parameters: {
      environment,
      instance: {
        type: SLACK_TYPES.string,
        title: 'Instance',
        description: 'One EC2 instance id, e.g. i-0abc1234def567890 (default: every in-service one).',
      },
      reason: { type: SLACK_TYPES.string, title: 'Reason', description: 'Why, shown with the change.' },
      channel,
      user,
    },
    output_parameters: {
      job_id: jobId,
      status: { ...status, description: 'standby, or nothing to do.' },
      instances: {
        type: SLACK_TYPES.string,
        title: 'Instances',
        description: 'The instance ids taken out (comma-separated).',
      },
    },
  },
  lb_enable: {
    title: 'Put back in the load balancer',
    description: 'Returns an environment’s Standby instances (or one) to service, as /lb enable does.',
    input_parameters: {
      environment,
      instance: {
        type: SLACK_TYPES.string,
        title: 'Instance',
        description: 'One EC2 instance id (default: every one in Standby).',
      },
      channel,
      user,
    },
    output_parameters: {
      job_id: jobId,
      status: { ...status, description: 'in service, or nothing to do.' },
      instances: {
        type: SLACK_TYPES.string,
        title: 'Instances',
        description: 'The instance ids put back (comma-separated).',
      },
    },
  },
  restore_table: {
    title: 'Restore a table',
    description:
      'Restores one MySQL table of an RDS instance as it was at a moment, as /rds restore-table does.',
    input_parameters: {
      database,
      table: {
        type: SLACK_TYPES.string,
        title: 'Table',
        description: 'The table as schema.table, e.g. shop.billing.',
        is_required: true,
      },
      time: {
        type: SLACK_TYPES.timestamp,
        title: 'Restore to',
        description: 'The moment to restore the table to (in the past, within the backup window).',
        is_required: true,
      },
      mode: {
        type: SLACK_TYPES.string,
        title: 'Mode',
        description:
          'side-table (default: the restored rows in a new table), merge-missing or replace (need approval on protected databases).',
      },
      channel,
      user,
    },
    output_parameters: {
      job_id: jobId,
      restored_table: {
        type: SLACK_TYPES.string,
        title: 'Restored table',
        description: 'The table holding the restored rows, schema.table.',
        is_required: true,
      },
      status: { ...status, description: 'restored, once the copy is checked.' },
    },
  },
  investigate_io_credits: {
    title: 'Investigate IO credits',
    description:
      'Reads an RDS instance’s burst balance and IOPS and says what limits it, as /rds io-credits does.',
    input_parameters: {
      database,
      hours: {
        type: SLACK_TYPES.integer,
        title: 'Hours',
        description: 'How far back to look, 1 to 336 (default 24).',
      },
      channel,
      user,
    },
    output_parameters: {
      job_id: jobId,
      verdict: {
        type: SLACK_TYPES.string,
        title: 'Verdict',
        description: 'What limits the database’s storage, in one sentence.',
        is_required: true,
      },
      severity: {
        type: SLACK_TYPES.string,
        title: 'Severity',
        description: 'critical, warning, ok or unknown.',
        is_required: true,
      },
    },
  },
} as const satisfies Record<string, StepDefinition>;

/** A step's `callback_id`. */
export type StepId = keyof typeof STEPS;

/** True when `id` names one of Capstan's steps. */
export function isStepId(id: string): id is StepId {
  return Object.hasOwn(STEPS, id);
}
