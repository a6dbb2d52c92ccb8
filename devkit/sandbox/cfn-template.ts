/**
 * CloudFormation templates, as far as the sandbox reads them (pure): JSON or YAML (with the short-form
 * tags `!Ref`, `!GetAtt`, `!Sub`, `!Join`…), the sections Parameters, Resources, Outputs, Description;
 * the intrinsics Ref, Fn::GetAtt, Fn::Sub and Fn::Join; dependencies from Ref, GetAtt, Sub and
 * DependsOn. Anything else is refused with a ValidationError naming it, never silently ignored.
 *
 * Template anatomy: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-anatomy.html
 * Intrinsic functions: https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference.html
 */
import { type CollectionTag, parse as parseYaml, type ScalarTag, type YAMLMap, type YAMLSeq } from 'yaml';
import { SandboxAwsError } from './errors.js';
import type { TemplateValue } from './world.js';

export const cfnError = (code: string, message: string, status = 400) =>
  new SandboxAwsError('CloudFormation', code, message, status);

export const formatError = (detail: string) =>
  cfnError('ValidationError', `Template format error: ${detail}`);

type Obj = { [k: string]: TemplateValue };

export interface TemplateParameter {
  key: string;
  type: string;
  default?: string;
  noEcho: boolean;
  description?: string;
  allowedValues?: string[];
}

export interface TemplateResource {
  logicalId: string;
  type: string;
  properties: Obj;
  dependsOn: string[];
  deletionPolicy: 'Delete' | 'Retain';
  /** Every logical id this resource needs first (DependsOn, Ref, GetAtt, Sub). */
  deps: string[];
}

export interface TemplateOutput {
  key: string;
  value: TemplateValue;
  description?: string;
  exportName?: TemplateValue;
}

export interface Template {
  description?: string;
  parameters: TemplateParameter[];
  resources: TemplateResource[];
  outputs: TemplateOutput[];
}

/** The functions the sandbox evaluates. */
const SUPPORTED_FUNCTIONS = new Set(['Ref', 'Fn::GetAtt', 'Fn::Sub', 'Fn::Join']);

/** YAML short forms (`!Ref X`, `!GetAtt A.B`, `!Sub …`) → their long forms, so one evaluator serves both. */
const SHORT_FORMS = [
  'Ref',
  'GetAtt',
  'Sub',
  'Join',
  'Select',
  'Split',
  'If',
  'Equals',
  'Not',
  'And',
  'Or',
  'FindInMap',
  'Base64',
  'GetAZs',
  'ImportValue',
  'Cidr',
  'Condition',
  'Transform',
  'Length',
  'ToJsonString',
];

function longName(short: string): string {
  return short === 'Ref' || short === 'Condition' ? short : `Fn::${short}`;
}

const yamlTags: (ScalarTag | CollectionTag)[] = SHORT_FORMS.flatMap((short) => {
  const name = longName(short);
  const scalar: ScalarTag = {
    tag: `!${short}`,
    resolve: (text: string) =>
      ({ [name]: short === 'GetAtt' ? splitGetAtt(text) : text }) as unknown as string,
  };
  const seq: CollectionTag = {
    tag: `!${short}`,
    collection: 'seq',
    resolve: (value) => ({ [name]: (value as YAMLSeq).toJSON() }) as unknown as YAMLSeq,
  };
  const map: CollectionTag = {
    tag: `!${short}`,
    collection: 'map',
    resolve: (value) => ({ [name]: (value as YAMLMap).toJSON() }) as unknown as YAMLMap,
  };
  return [scalar, seq, map];
});

function splitGetAtt(text: string): string[] {
  const dot = text.indexOf('.');
  return dot < 0 ? [text] : [text.slice(0, dot), text.slice(dot + 1)];
}

/** Parses a template body (JSON, else YAML) into plain JSON-shaped data. */
export function parseTemplateBody(body: string): Obj {
  let doc: unknown;
  const text = body.trim();
  if (text.startsWith('{')) {
    try {
      doc = JSON.parse(text);
    } catch {
      throw formatError('JSON not well-formed.');
    }
  } else {
    try {
      doc = parseYaml(body, { customTags: yamlTags, uniqueKeys: true });
      // Tagged nodes resolve to plain objects inside the document; a round trip makes them plain data.
      doc = JSON.parse(JSON.stringify(doc ?? null));
    } catch (error) {
      const where = (error as { linePos?: { line: number; col: number }[] }).linePos?.[0];
      throw formatError(`YAML not well-formed.${where ? ` (line ${where.line}, column ${where.col})` : ''}`);
    }
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw formatError('not a template object.');
  return doc as Obj;
}

const SECTIONS = new Set([
  'AWSTemplateFormatVersion',
  'Description',
  'Metadata',
  'Parameters',
  'Resources',
  'Outputs',
]);
const UNSUPPORTED_SECTIONS = new Set(['Conditions', 'Mappings', 'Transform', 'Rules', 'Globals']);
const PSEUDO = new Set([
  'AWS::StackName',
  'AWS::StackId',
  'AWS::Region',
  'AWS::AccountId',
  'AWS::NoValue',
  'AWS::Partition',
  'AWS::URLSuffix',
]);
const PARAMETER_TYPES =
  /^(String|Number|CommaDelimitedList|List<Number>|AWS::[A-Za-z0-9:]+|List<AWS::[A-Za-z0-9:]+>)$/;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: TemplateValue | undefined): string | undefined {
  if (v === undefined || v === null) return undefined;
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;
}

/** Every function call in a value, for validation. */
function visitCalls(value: TemplateValue, visit: (fn: string, arg: TemplateValue) => void): void {
  if (Array.isArray(value)) {
    for (const v of value) visitCalls(v, visit);
    return;
  }
  if (!isObj(value)) return;
  const keys = Object.keys(value);
  if (keys.length === 1) {
    const fn = keys[0] as string;
    if (fn === 'Ref' || fn.startsWith('Fn::') || fn === 'Condition') {
      visit(fn, value[fn] as TemplateValue);
      visitCalls(value[fn] as TemplateValue, visit);
      return;
    }
  }
  for (const v of Object.values(value)) visitCalls(v, visit);
}

/** The `${Name}` / `${Name.Attr}` variables of an Fn::Sub string (`${!Literal}` is not one). */
export function subVariables(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/\$\{([^}]*)\}/g)) {
    const v = (m[1] ?? '').trim();
    if (!v.startsWith('!')) out.push(v);
  }
  return out;
}

/** Reads and checks a template: the sections, parameters, resources, outputs and their references. */
export function readTemplate(body: string): Template {
  const doc = parseTemplateBody(body);
  for (const key of Object.keys(doc)) {
    if (UNSUPPORTED_SECTIONS.has(key))
      throw formatError(`the ${key} section is not supported by the sandbox`);
    if (!SECTIONS.has(key)) throw formatError(`Invalid template property or properties [${key}]`);
  }
  const version = doc.AWSTemplateFormatVersion;
  if (version !== undefined && str(version) !== '2010-09-09') {
    throw formatError(`Unsupported template format version ${str(version) ?? ''}`);
  }
  const parameters: TemplateParameter[] = [];
  const rawParams = doc.Parameters ?? {};
  if (!isObj(rawParams)) throw formatError('Parameters must be an object');
  for (const [key, raw] of Object.entries(rawParams)) {
    if (!isObj(raw) || raw.Type === undefined) {
      throw formatError(`[/Parameters/${key}] Every Parameters object must contain a Type member.`);
    }
    const type = str(raw.Type) ?? '';
    if (!PARAMETER_TYPES.test(type)) throw formatError(`Unrecognized parameter type: ${type}`);
    const allowed = Array.isArray(raw.AllowedValues) ? raw.AllowedValues.map((v) => str(v) ?? '') : undefined;
    parameters.push({
      key,
      type,
      default:
        raw.Default === undefined
          ? undefined
          : Array.isArray(raw.Default)
            ? raw.Default.join(',')
            : str(raw.Default),
      noEcho: String(raw.NoEcho ?? 'false').toLowerCase() === 'true',
      description: str(raw.Description),
      allowedValues: allowed,
    });
  }
  const rawResources = doc.Resources;
  if (!isObj(rawResources) || Object.keys(rawResources).length === 0) {
    throw formatError('At least one Resources member must be defined.');
  }
  const paramKeys = new Set(parameters.map((p) => p.key));
  const resourceKeys = new Set(Object.keys(rawResources));
  const resources: TemplateResource[] = [];
  for (const [logicalId, raw] of Object.entries(rawResources)) {
    if (!/^[A-Za-z0-9]+$/.test(logicalId)) {
      throw formatError(`Resource name ${logicalId} is non alphanumeric.`);
    }
    if (!isObj(raw) || typeof raw.Type !== 'string') {
      throw formatError(`[/Resources/${logicalId}] Every Resources object must contain a Type member.`);
    }
    if (raw.Condition !== undefined) throw formatError('Conditions are not supported by the sandbox');
    const props = raw.Properties ?? {};
    if (!isObj(props)) throw formatError(`[/Resources/${logicalId}/Properties] must be an object`);
    const dependsOn =
      raw.DependsOn === undefined
        ? []
        : Array.isArray(raw.DependsOn)
          ? raw.DependsOn.map((d) => str(d) ?? '')
          : [str(raw.DependsOn) ?? ''];
    const policy = str(raw.DeletionPolicy) ?? 'Delete';
    if (policy !== 'Delete' && policy !== 'Retain') {
      throw formatError(`DeletionPolicy ${policy} is not supported by the sandbox (Delete or Retain)`);
    }
    const deps = new Set<string>();
    for (const d of dependsOn) {
      if (!resourceKeys.has(d)) {
        throw formatError(`Unresolved resource dependencies [${d}] in the Resources block of the template`);
      }
      deps.add(d);
    }
    for (const d of references(props, paramKeys, resourceKeys)) deps.add(d);
    deps.delete(logicalId);
    resources.push({
      logicalId,
      type: raw.Type,
      properties: props,
      dependsOn,
      deletionPolicy: policy,
      deps: [...deps],
    });
  }
  checkCycles(resources);
  const outputs: TemplateOutput[] = [];
  const rawOutputs = doc.Outputs ?? {};
  if (!isObj(rawOutputs)) throw formatError('Outputs must be an object');
  for (const [key, raw] of Object.entries(rawOutputs)) {
    if (!isObj(raw) || raw.Value === undefined) {
      throw formatError(`[/Outputs/${key}] Every Outputs member must contain a Value object`);
    }
    references(raw.Value, paramKeys, resourceKeys);
    outputs.push({
      key,
      value: raw.Value,
      description: str(raw.Description),
      exportName: isObj(raw.Export) ? raw.Export.Name : undefined,
    });
  }
  return { description: str(doc.Description), parameters, resources, outputs };
}

/** The resources a value refers to; refuses unsupported functions and unknown names. */
function references(value: TemplateValue, params: Set<string>, resources: Set<string>): string[] {
  const found = new Set<string>();
  const unresolved = new Set<string>();
  const name = (n: string) => {
    if (resources.has(n)) found.add(n);
    else if (!params.has(n) && !PSEUDO.has(n)) unresolved.add(n);
  };
  visitCalls(value, (fn, arg) => {
    if (!SUPPORTED_FUNCTIONS.has(fn)) throw formatError(`${fn} is not supported by the sandbox`);
    if (fn === 'Ref') {
      if (typeof arg !== 'string') throw formatError('Ref must be a string');
      name(arg);
    } else if (fn === 'Fn::GetAtt') {
      const parts = typeof arg === 'string' ? splitGetAtt(arg) : arg;
      if (!Array.isArray(parts) || parts.length !== 2 || typeof parts[0] !== 'string') {
        throw formatError('Template error: every Fn::GetAtt object requires two non-empty parameters.');
      }
      if (!resources.has(parts[0])) {
        throw formatError(`Template error: instance of Fn::GetAtt references undefined resource ${parts[0]}`);
      }
      found.add(parts[0]);
    } else if (fn === 'Fn::Sub') {
      const [text, vars] =
        typeof arg === 'string' ? [arg, {}] : Array.isArray(arg) ? [arg[0], arg[1] ?? {}] : [undefined, {}];
      if (typeof text !== 'string' || !isObj(vars)) {
        throw formatError("One or more Fn::Sub intrinsic functions don't specify expected arguments.");
      }
      for (const v of subVariables(text)) {
        if (Object.hasOwn(vars, v)) continue;
        const [head] = v.split('.');
        if (v.includes('.') && resources.has(head ?? '')) found.add(head ?? '');
        else name(v);
      }
    } else if (fn === 'Fn::Join') {
      if (!Array.isArray(arg) || arg.length !== 2 || typeof arg[0] !== 'string') {
        throw formatError('Template error: every Fn::Join object requires two parameters.');
      }
    }
  });
  if (unresolved.size > 0) {
    throw formatError(
      `Unresolved resource dependencies [${[...unresolved].join(', ')}] in the Resources block of the template`,
    );
  }
  return [...found];
}

function checkCycles(resources: TemplateResource[]): void {
  const byId = new Map(resources.map((r) => [r.logicalId, r]));
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (id: string, path: string[]) => {
    if (state.get(id) === 'done') return;
    if (state.get(id) === 'visiting') {
      throw cfnError(
        'ValidationError',
        `Circular dependency between resources: [${path.slice(path.indexOf(id)).join(', ')}]`,
      );
    }
    state.set(id, 'visiting');
    for (const d of byId.get(id)?.deps ?? []) visit(d, [...path, d]);
    state.set(id, 'done');
  };
  for (const r of resources) visit(r.logicalId, [r.logicalId]);
}

/** Logical ids in an order where every resource comes after what it needs (template order otherwise). */
export function creationOrder(resources: TemplateResource[]): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const byId = new Map(resources.map((r) => [r.logicalId, r]));
  const visit = (id: string) => {
    if (seen.has(id)) return;
    seen.add(id);
    for (const d of byId.get(id)?.deps ?? []) visit(d);
    out.push(id);
  };
  for (const r of resources) visit(r.logicalId);
  return out;
}

// ── Parameters ───────────────────────────────────────────────────────────────────────────────

export interface GivenParameter {
  ParameterKey?: string | undefined;
  ParameterValue?: string | undefined;
  UsePreviousValue?: boolean | undefined;
}

/**
 * The stack's parameter values: given, previous (UsePreviousValue) or the template's default, each
 * checked against the template as CloudFormation checks them.
 */
export function resolveParameters(
  template: Template,
  given: GivenParameter[] | undefined,
  previous?: Record<string, string>,
): Record<string, string> {
  const declared = new Map(template.parameters.map((p) => [p.key, p]));
  const unknown = (given ?? []).map((g) => g.ParameterKey ?? '').filter((k) => !declared.has(k));
  if (unknown.length > 0) {
    throw cfnError('ValidationError', `Parameters: [${unknown.join(', ')}] do not exist in the template`);
  }
  const values: Record<string, string> = {};
  const missing: string[] = [];
  for (const p of template.parameters) {
    const g = (given ?? []).find((x) => x.ParameterKey === p.key);
    let value: string | undefined;
    if (g?.UsePreviousValue) {
      if (g.ParameterValue !== undefined) {
        throw cfnError(
          'ValidationError',
          `Invalid input for parameter key ${p.key}. Cannot specify usePreviousValue as true and non empty value for a parameter.`,
        );
      }
      value = previous?.[p.key];
      if (value === undefined) {
        throw cfnError(
          'ValidationError',
          `Invalid input for parameter key ${p.key}. Need to specify either usePreviousValue as true or a value for the parameter`,
        );
      }
    } else {
      value = g?.ParameterValue ?? p.default;
    }
    if (value === undefined) {
      missing.push(p.key);
      continue;
    }
    if (p.allowedValues && !p.allowedValues.includes(value)) {
      throw cfnError('ValidationError', `Parameter '${p.key}' must be one of AllowedValues`);
    }
    if (p.type === 'Number' && (value.trim() === '' || !Number.isFinite(Number(value)))) {
      throw cfnError('ValidationError', `Parameter '${p.key}' must be a number.`);
    }
    values[p.key] = value;
  }
  if (missing.length > 0) {
    throw cfnError('ValidationError', `Parameters: [${missing.join(', ')}] must have values`);
  }
  return values;
}

// ── Evaluation ───────────────────────────────────────────────────────────────────────────────

/** What intrinsics are evaluated against. */
export interface Scope {
  stackName: string;
  stackId: string;
  region: string;
  accountId: string;
  parameters: Record<string, string>;
  parameterTypes: Record<string, string>;
  /** A resource's Ref value (its physical id, or a marker while it is not known). */
  ref(logicalId: string): string;
  getAtt(logicalId: string, attribute: string): string;
}

/** Removes properties whose value is Ref AWS::NoValue. */
const NO_VALUE = Symbol('AWS::NoValue');

function refValue(name: string, scope: Scope): TemplateValue | typeof NO_VALUE {
  switch (name) {
    case 'AWS::StackName':
      return scope.stackName;
    case 'AWS::StackId':
      return scope.stackId;
    case 'AWS::Region':
      return scope.region;
    case 'AWS::AccountId':
      return scope.accountId;
    case 'AWS::Partition':
      return 'aws';
    case 'AWS::URLSuffix':
      return 'amazonaws.com';
    case 'AWS::NoValue':
      return NO_VALUE;
    default:
      break;
  }
  if (Object.hasOwn(scope.parameters, name)) {
    const v = scope.parameters[name] as string;
    const type = scope.parameterTypes[name] ?? 'String';
    return type.startsWith('List<') || type === 'CommaDelimitedList' ? v.split(',').map((x) => x.trim()) : v;
  }
  return scope.ref(name);
}

function scalar(value: TemplateValue, what: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw cfnError('ValidationError', `Template error: ${what} must resolve to a string`);
}

function evaluate(value: TemplateValue, scope: Scope): TemplateValue | typeof NO_VALUE {
  if (Array.isArray(value)) {
    const out: TemplateValue[] = [];
    for (const v of value) {
      const r = evaluate(v, scope);
      if (r !== NO_VALUE) out.push(r);
    }
    return out;
  }
  if (!isObj(value)) return value;
  const keys = Object.keys(value);
  if (keys.length === 1) {
    const fn = keys[0] as string;
    const arg = value[fn] as TemplateValue;
    switch (fn) {
      case 'Ref':
        return refValue(String(arg), scope);
      case 'Fn::GetAtt': {
        const [id, attr] = (typeof arg === 'string' ? splitGetAtt(arg) : (arg as string[])) as [
          string,
          string,
        ];
        return scope.getAtt(id, scalar(evaluate(attr, scope) as TemplateValue, 'Fn::GetAtt'));
      }
      case 'Fn::Join': {
        const [delimiter, list] = arg as [string, TemplateValue];
        const items = evaluate(list, scope);
        if (!Array.isArray(items))
          throw cfnError('ValidationError', 'Template error: Fn::Join requires a list');
        return items.map((i) => scalar(i, 'every Fn::Join item')).join(delimiter);
      }
      case 'Fn::Sub': {
        const [text, vars] = (typeof arg === 'string' ? [arg, {}] : arg) as [string, Obj];
        return text.replace(/\$\{([^}]*)\}/g, (_all, inner: string) => {
          const v = inner.trim();
          if (v.startsWith('!')) return `\${${v.slice(1)}}`;
          if (Object.hasOwn(vars ?? {}, v))
            return scalar(
              evaluate(vars[v] as TemplateValue, scope) as TemplateValue,
              `Fn::Sub variable ${v}`,
            );
          const dot = v.indexOf('.');
          if (dot > 0 && !Object.hasOwn(scope.parameters, v) && !PSEUDO.has(v)) {
            return scope.getAtt(v.slice(0, dot), v.slice(dot + 1));
          }
          const r = refValue(v, scope);
          return r === NO_VALUE ? '' : Array.isArray(r) ? r.join(',') : scalar(r, `Fn::Sub variable ${v}`);
        });
      }
      default:
        break;
    }
  }
  const out: Obj = {};
  for (const [k, v] of Object.entries(value)) {
    const r = evaluate(v, scope);
    if (r !== NO_VALUE) out[k] = r;
  }
  return out;
}

/** A value with its intrinsics evaluated (properties set to Ref AWS::NoValue dropped). */
export function resolveValue(value: TemplateValue, scope: Scope): TemplateValue {
  const r = evaluate(value, scope);
  return r === NO_VALUE ? null : r;
}

export function resolveProperties(props: Obj, scope: Scope): Obj {
  return resolveValue(props, scope) as Obj;
}
