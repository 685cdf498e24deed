/** Prompt accuracy of DALL·E-mini, shared by the training log and `npm run evaluate`. */
import * as tf from '../../src/models/tf';
import type { Classifier } from '../../src/models/classifier';
import { zeroShotPrompt } from '../../src/models/clip';
import type { Dvae } from '../../src/models/dvae';
import type { BpeTokenizer } from '../../src/models/text/bpe';
import type { DalleMini } from '../../src/models/transformer';

/**
 * Returns the share of samples that the referee classifies as the prompted digit. Each digit
 * 0–9 gets `perDigit` samples from the prompt "a handwritten <digit word>" at temperature 1
 * with no top-k or top-p. Every chunk of 50 is seeded from `seed`, the digit and its offset,
 * and the dVAE decodes the tokens.
 */
export async function dallePromptAccuracy(model: DalleMini, dvae: Dvae, referee: Classifier, tokenizer: BpeTokenizer, perDigit: number, seed = 0): Promise<number> {
  const chunk = 50;
  let correct = 0;
  for (let digit = 0; digit < 10; digit++) {
    const { ids } = tokenizer.encode(zeroShotPrompt(digit), { maxLength: model.config.textLength });
    for (let start = 0; start < perDigit; start += chunk) {
      const count = Math.min(chunk, perDigit - start);
      const { tokens } = await model.sample({ textIds: ids, count, seed: seed + digit * 100_003 + start, temperature: 1 });
      const predicted = tf.tidy(() => referee.predict(dvae.decodeTokens(tf.tensor3d(tokens, [count, 7, 7], 'int32'))).dataSync());
      predicted.forEach((label) => (correct += label === digit ? 1 : 0));
    }
  }
  return correct / (10 * perDigit);
}
