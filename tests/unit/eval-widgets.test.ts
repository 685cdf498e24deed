import { describe, expect, it } from 'vitest';
import { AB_COMPARISONS, loadVotes, planPair, saveVotes, tallyVotes, VOTES_STORAGE_KEY, type AbVote } from '../../src/components/widgets/ab-votes';
import { balancedIndices, degenerateSets, digitPrompts, makeReference, pairCosines, PIXELS, scoreSet, type LabSet } from '../../src/components/widgets/eval-lab';
import { Rng } from '../../src/models/data/rng';

/** A Storage whose setItem and getItem can be made to throw, like a full or blocked localStorage. */
class FakeStorage implements Storage {
  private items = new Map<string, string>();
  failWith: Error | null = null;

  get length(): number {
    return this.items.size;
  }
  clear(): void {
    this.items.clear();
  }
  getItem(key: string): string | null {
    if (this.failWith) throw this.failWith;
    return this.items.get(key) ?? null;
  }
  key(index: number): string | null {
    return [...this.items.keys()][index] ?? null;
  }
  removeItem(key: string): void {
    this.items.delete(key);
  }
  setItem(key: string, value: string): void {
    if (this.failWith) throw this.failWith;
    this.items.set(key, value);
  }
}

function namedError(name: string): Error {
  const error = new Error(`${name} for the test`);
  error.name = name;
  return error;
}

describe('planPair', () => {
  const comparison = AB_COMPARISONS[0];

  it('repeats a pair for the same seed and index', () => {
    expect(planPair(1, comparison, 7)).toEqual(planPair(1, comparison, 7));
    expect(planPair(1, comparison, 7)).not.toEqual(planPair(2, comparison, 7));
  });

  it('puts each source on each side about half the time', () => {
    let aLeft = 0;
    for (let index = 0; index < 400; index++) {
      const plan = planPair(3, comparison, index);
      expect([plan.leftSource, plan.rightSource].sort()).toEqual([comparison.a, comparison.b].sort());
      if (plan.leftSource === comparison.a) aLeft += 1;
    }
    expect(aLeft).toBeGreaterThan(160);
    expect(aLeft).toBeLessThan(240);
  });
});

describe('tallyVotes', () => {
  it('counts by source, not by side', () => {
    const comparison = AB_COMPARISONS[0];
    const votes: AbVote[] = [
      { pair: 0, choice: 'left', leftSource: 'real', rightSource: 'dalle' },
      { pair: 1, choice: 'right', leftSource: 'dalle', rightSource: 'real' },
      { pair: 2, choice: 'left', leftSource: 'dalle', rightSource: 'real' },
      { pair: 3, choice: 'tie', leftSource: 'real', rightSource: 'dalle' },
    ];
    const tally = tallyVotes(votes, comparison);
    expect([tally.a.count, tally.b.count, tally.tie.count, tally.total, tally.decided]).toEqual([2, 1, 1, 4, 3]);
    expect(tally.a.proportion).toBe(0.5);
    expect(tally.aAmongDecided.proportion).toBeCloseTo(2 / 3, 12);
    expect(tally.a.lower).toBeLessThan(0.5);
    expect(tally.a.upper).toBeGreaterThan(0.5);
  });
});

describe('vote storage', () => {
  const sessions = { 'real-dalle:1': [{ pair: 0, choice: 'left', leftSource: 'real', rightSource: 'dalle' } as AbVote] };

  it('round-trips sessions', () => {
    const storage = new FakeStorage();
    expect(saveVotes(storage, sessions)).toBeNull();
    expect(loadVotes(storage)).toEqual({ sessions, problem: null });
  });

  it('reports a full storage', () => {
    const storage = new FakeStorage();
    storage.failWith = namedError('QuotaExceededError');
    expect(saveVotes(storage, sessions)).toMatch(/storage for this site is full \(QuotaExceededError\)/);
  });

  it('reports a blocked storage', () => {
    const storage = new FakeStorage();
    storage.failWith = namedError('SecurityError');
    expect(saveVotes(storage, sessions)).toMatch(/does not let the page store data \(SecurityError\)/);
    expect(loadVotes(storage).problem).toMatch(/SecurityError/);
  });

  it('sets aside unreadable data', () => {
    const storage = new FakeStorage();
    storage.setItem(VOTES_STORAGE_KEY, '{"version": 99}');
    const loaded = loadVotes(storage);
    expect(loaded.sessions).toEqual({});
    expect(loaded.problem).toMatch(/could not be read/);
  });
});

describe('metric lab', () => {
  /** Builds a balanced set of stand-in digits: digit d is a bright square at a position that depends on d, plus noise. */
  function fakeDigits(perDigit: number, rng: Rng): LabSet {
    const count = 10 * perDigit;
    const images = new Float32Array(count * PIXELS);
    const prompts = digitPrompts(perDigit);
    prompts.forEach((digit, row) => {
      for (let pixel = 0; pixel < PIXELS; pixel++) images[row * PIXELS + pixel] = 0.05 * rng.next();
      for (let y = 0; y < 6; y++) for (let x = 0; x < 6; x++) images[row * PIXELS + (4 + 2 * digit + y) * 28 + 4 + x + digit] = 1;
    });
    return { id: 'real', images, prompts, count };
  }

  it('gives the mean-image set the real set’s pixel mean-pooled cosine', () => {
    const real = fakeDigits(5, new Rng(1));
    const reference = fakeDigits(5, new Rng(2));
    const [, meanImage] = degenerateSets(real);
    const dim = 4;
    // Stand-in embeddings: one-hot-ish per prompt digit, so only the pixel column matters here.
    const embed = (set: LabSet) => Float32Array.from({ length: set.count * dim }, (_, i) => ((Math.floor(i / dim) + (i % dim)) % 3 === 0 ? 1 : 0.1));
    const text = new Float32Array(10 * dim).fill(0.5);
    const ref = makeReference(reference.images, embed(reference), reference.count, dim);
    const realScores = scoreSet(real, { embeddings: embed(real), predicted: real.prompts }, ref, text);
    const meanScores = scoreSet(meanImage, { embeddings: embed(meanImage), predicted: new Int32Array(meanImage.count) }, ref, text);
    expect(meanScores.pixelMeanCosine).toBeCloseTo(realScores.pixelMeanCosine, 5);
    expect(realScores.promptAccuracy).toBe(1);
    expect(meanScores.promptAccuracy).toBeCloseTo(0.1, 12);
  });

  it('prompts the wrong-prompt set with the previous digit', () => {
    const real = fakeDigits(2, new Rng(3));
    const [wrongPrompt, , copied] = degenerateSets(real);
    expect(Array.from(wrongPrompt.prompts.slice(0, 4))).toEqual([9, 9, 0, 0]);
    expect(copied.images.subarray(PIXELS * 7, PIXELS * 8)).toEqual(real.images.subarray(0, PIXELS));
  });

  it('picks the first digits of each class', () => {
    const labels = [3, 0, 1, 2, 4, 5, 6, 7, 8, 9, 0, 1];
    expect(balancedIndices(labels, 0, 12, 1)).toEqual([1, 2, 3, 0, 4, 5, 6, 7, 8, 9]);
    expect(() => balancedIndices(labels, 0, 12, 2)).toThrow(/only 1 of digit 2/);
  });

  it('splits pair cosines by label', () => {
    const rows = Float32Array.from([1, 0, 1, 0, 0, 1]);
    expect(pairCosines(rows, [0, 0, 1], 3, 2)).toEqual({ same: 1, different: 0 });
  });
});
