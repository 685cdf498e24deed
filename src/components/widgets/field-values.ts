/**
 * Checks the values a reader typed into a widget's fields against the widget's URL schema,
 * before the widget uses them. The rules are those of link parameters (`url-state.ts`): out of
 * range is clamped, anything else unusable is dropped, and each case yields a note to show.
 */
import { checkValue, describeParam, type ParamSpec, type UrlSchema, type UrlValues } from './url-state';

export interface CheckedFields<Schema extends UrlSchema> {
  /** The usable values, clamped into range; a field without a usable value is absent. */
  values: UrlValues<Schema>;
  /** One sentence per field whose value was dropped or changed, in the order of `fields`. */
  notes: string[];
  /** True when every field in `fields` has a usable value. */
  complete: boolean;
}

/**
 * Checks each field of `fields` (a setting's name with its value and visible label). A cleared
 * number field binds null and a half-typed one NaN, and both count as empty. Bad values become
 * notes, not exceptions.
 */
export function checkFieldValues<Schema extends UrlSchema>(
  schema: Schema,
  fields: Partial<Record<keyof Schema & string, { value: unknown; label: string }>>,
): CheckedFields<Schema> {
  const values: Record<string, number | string> = {};
  const notes: string[] = [];
  let complete = true;

  for (const [name, field] of Object.entries(fields) as [string, { value: unknown; label: string } | undefined][]) {
    if (!field || !Object.hasOwn(schema, name)) continue;
    const spec = schema[name];
    const { value, label } = field;

    const empty = value === null || value === undefined || (typeof value === 'number' && Number.isNaN(value)) || (typeof value === 'string' && value.trim() === '');
    if (empty) {
      notes.push(`${label} is empty: enter ${describeParam(spec)}.`);
      complete = false;
      continue;
    }

    const checked = checkValue(spec, value, label);
    if (checked.note) notes.push(checked.note);
    if (checked.value === undefined) complete = false;
    else values[name] = checked.value;
  }

  return { values: values as UrlValues<Schema>, notes, complete };
}

/** Labels of the run settings' fields, as `TrainerSettings.svelte` shows them. */
const RUN_FIELD_LABELS = { steps: 'Steps', batchSize: 'Batch size', seed: 'Seed' } as const;

/** A run's settings as the trainers' fields hold them: null where a field was cleared. */
export interface RunFieldValues {
  steps: number | null;
  batchSize: number | null;
  seed: number | null;
}

/**
 * Checks a trainer's run settings against the `steps`, `batchSize` and `seed` specs of its
 * schema. Returns the run to start (values clamped into range), or null when a field has no
 * usable value, and the notes to show either way.
 */
export function checkRunSettings(
  specs: { steps: ParamSpec; batchSize: ParamSpec; seed: ParamSpec },
  settings: RunFieldValues,
): { run: { totalSteps: number; batchSize: number; seed: number } | null; notes: string[] } {
  const checked = checkFieldValues(specs, {
    steps: { value: settings.steps, label: RUN_FIELD_LABELS.steps },
    batchSize: { value: settings.batchSize, label: RUN_FIELD_LABELS.batchSize },
    seed: { value: settings.seed, label: RUN_FIELD_LABELS.seed },
  });
  const { steps, batchSize, seed } = checked.values;
  if (!checked.complete || typeof steps !== 'number' || typeof batchSize !== 'number' || typeof seed !== 'number') {
    return { run: null, notes: checked.notes };
  }
  return { run: { totalSteps: steps, batchSize, seed }, notes: checked.notes };
}
