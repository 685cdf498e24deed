/**
 * DALL·E-mini's sampling settings shared by `npm run evaluate` and the widgets, in a module
 * without TensorFlow.js so pages import it for free.
 */

/**
 * Sampling settings of DALL·E-mini in `npm run evaluate` and the widgets' defaults: the
 * model card's prompt accuracy, FID and CLIP score come from samples drawn with them.
 * `candidates` is the number of samples CLIP reranks for each image it keeps. The top-k was
 * chosen among nine settings (temperature 0.9–1.1, top-k 0–16, top-p 0.8–1) by the FID of
 * 500 samples against 10,000 training digits, so the test split played no part in it.
 */
export const DALLE_EVAL_SAMPLING = {
  temperature: 1,
  topK: 8,
  topP: 1,
  candidates: 8,
} as const;

/** The selection procedure behind `DALLE_EVAL_SAMPLING`, for the model card. */
export const DALLE_SAMPLING_CHOICE =
  'top-k chosen among nine settings (temperature 0.9–1.1, top-k 0–16, top-p 0.8–1) by the FID of 500 samples against 10,000 training digits (the last of the training split), not the test split';
