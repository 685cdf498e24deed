/**
 * Reader-facing messages of the dVAE widgets that tests and several components share.
 * Failure messages from the worker are shown unchanged, because they already state what
 * failed and what to do.
 */
import { toWorkerFailure, type WorkerFailureKind } from '../../models/runtime/protocol';

export const MESSAGES = {
  blankDrawing: 'Draw a digit first: the pad is empty, so there is nothing to tokenise.',
  drawingTooSmall: 'Draw a larger digit: this mark is too small to read as one.',
  lowConfidence: (probability: number) =>
    `The referee classifier's confidence is low (highest class probability ${probability.toFixed(2)}): this input may not look like a digit, but the dVAE tokenises it all the same.`,
  classifierUnavailable: (reason: string) =>
    `The referee classifier could not be loaded, so the widget cannot say which digit this looks like. ${reason}`,
  widgetCrashed: (error: unknown) =>
    `This widget stopped because of an error in the page (${error instanceof Error ? error.message : String(error)}). Reload the page to start it again.`,
} as const;

/** Title shown above a failure, chosen by the failure's kind. */
const FAILURE_TITLES: Record<WorkerFailureKind, string> = {
  backend: 'No TensorFlow.js backend could run.',
  checkpoint: 'The checkpoint could not be loaded.',
  data: 'The MNIST data could not be loaded.',
  nan: 'Training diverged.',
  storage: 'Browser storage failed.',
  input: 'The input was rejected.',
  internal: 'The model worker failed.',
};

/** Formats a failure for an alert: a title chosen by its kind, then the worker's own message. */
export function describeFailure(error: unknown): string {
  const failure = toWorkerFailure(error);
  return `${FAILURE_TITLES[failure.kind]} ${failure.message}`;
}
