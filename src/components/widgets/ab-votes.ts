/**
 * The blind A/B comparison's plan, tallies and storage, without DOM or Svelte so that unit
 * tests run them in Node.
 *
 * A session is one comparison (two image sources) with one seed. Pair i of a session is
 * fully determined by the seed and i, so a reset replays the same digits, the same sides and
 * the same sampling seeds.
 */
import { deriveSeed, Rng } from '../../models/data/rng';
import { wilsonInterval, type ProportionInterval } from '../../models/metrics';

export type AbSource = 'real' | 'dalle' | 'unclip';

/** Display name of each source in the results. */
export const SOURCE_TITLES: Record<AbSource, string> = {
  real: 'Real test digit',
  dalle: 'DALL·E-mini',
  unclip: 'unCLIP',
};

export interface AbComparisonSpec {
  id: string;
  a: AbSource;
  b: AbSource;
}

export const AB_COMPARISONS: readonly AbComparisonSpec[] = [
  { id: 'real-dalle', a: 'real', b: 'dalle' },
  { id: 'dalle-unclip', a: 'dalle', b: 'unclip' },
  { id: 'real-unclip', a: 'real', b: 'unclip' },
];

export type AbChoice = 'left' | 'right' | 'tie';

export interface AbVote {
  pair: number;
  choice: AbChoice;
  leftSource: AbSource;
  rightSource: AbSource;
}

/** Contents of pair `index` of a session. */
export interface PairPlan {
  index: number;
  /** The digit both images should show; the prompt is "a handwritten <digit word>". */
  digit: number;
  leftSource: AbSource;
  rightSource: AbSource;
  /** Uniform in [0, 1): which of the pool's real test digits of `digit` a real side shows. */
  realPick: number;
  /** Seed of the model sample(s) of this pair. */
  samplingSeed: number;
}

/** Draws pair `index` of the session with `seed`: digit, side order and sampling seed. */
export function planPair(seed: number, comparison: AbComparisonSpec, index: number): PairPlan {
  if (!Number.isInteger(index) || index < 0) throw new Error(`Pair index must be a whole number ≥ 0, got ${index}.`);
  const rng = new Rng(deriveSeed(seed, index));
  const digit = rng.int(10);
  const aOnLeft = rng.next() < 0.5;
  const realPick = rng.next();
  const samplingSeed = rng.seed();
  return {
    index,
    digit,
    leftSource: aOnLeft ? comparison.a : comparison.b,
    rightSource: aOnLeft ? comparison.b : comparison.a,
    realPick,
    samplingSeed,
  };
}

export interface AbTally {
  total: number;
  /** Votes for source a, for source b, and "can't tell", each with its share of all votes and a 95 % Wilson interval. */
  a: ProportionInterval & { count: number };
  b: ProportionInterval & { count: number };
  tie: ProportionInterval & { count: number };
  /** Votes that chose a side, and the share of them that chose source a, with its 95 % Wilson interval. */
  decided: number;
  aAmongDecided: ProportionInterval;
}

/** Returns the source a vote chose, or null for "can't tell". */
export function chosenSource(vote: AbVote): AbSource | null {
  if (vote.choice === 'tie') return null;
  return vote.choice === 'left' ? vote.leftSource : vote.rightSource;
}

/** Counts votes for each source of `comparison` with 95 % Wilson intervals. */
export function tallyVotes(votes: readonly AbVote[], comparison: AbComparisonSpec): AbTally {
  let a = 0;
  let b = 0;
  let tie = 0;
  for (const vote of votes) {
    const source = chosenSource(vote);
    if (source === null) tie += 1;
    else if (source === comparison.a) a += 1;
    else if (source === comparison.b) b += 1;
  }
  const total = a + b + tie;
  return {
    total,
    a: { count: a, ...wilsonInterval(a, total) },
    b: { count: b, ...wilsonInterval(b, total) },
    tie: { count: tie, ...wilsonInterval(tie, total) },
    decided: a + b,
    aAmongDecided: wilsonInterval(a, a + b),
  };
}

// ---------------------------------------------------------------------------------------------
// Storage

export const VOTES_STORAGE_KEY = 'universe-of-dalle:ab-votes';
const STORAGE_VERSION = 1;

/** Votes of every session, keyed by `sessionKey`. */
export type VoteSessions = Record<string, AbVote[]>;

export function sessionKey(comparisonId: string, seed: number): string {
  return `${comparisonId}:${seed}`;
}

/** Returns `localStorage`, or the reason the page may not use it (the getter itself throws when storage is blocked). */
export function openStorage(): { storage: Storage | null; problem: string | null } {
  try {
    const storage = globalThis.localStorage;
    if (!storage) return { storage: null, problem: 'This browser offers no local storage, so your votes last only until you leave the page.' };
    return { storage, problem: null };
  } catch (error) {
    return { storage: null, problem: blockedMessage(error) };
  }
}

function errorName(error: unknown): string {
  return error instanceof Error || (typeof DOMException !== 'undefined' && error instanceof DOMException) ? (error as Error).name : String(error);
}

function blockedMessage(error: unknown): string {
  return `This browser does not let the page store data (${errorName(error)}), so your votes last only until you leave the page.`;
}

function isQuotaError(error: unknown): boolean {
  const name = errorName(error);
  return name === 'QuotaExceededError' || name === 'NS_ERROR_DOM_QUOTA_REACHED';
}

function isVote(value: unknown): value is AbVote {
  if (!value || typeof value !== 'object') return false;
  const vote = value as Partial<AbVote>;
  const sources = Object.keys(SOURCE_TITLES);
  return (
    Number.isInteger(vote.pair) &&
    (vote.pair as number) >= 0 &&
    (vote.choice === 'left' || vote.choice === 'right' || vote.choice === 'tie') &&
    sources.includes(vote.leftSource as string) &&
    sources.includes(vote.rightSource as string)
  );
}

/**
 * Reads the stored sessions. Returns none, with a message, when storage cannot be read or
 * contains data this version does not understand. Without stored votes it returns none and
 * no message.
 */
export function loadVotes(storage: Storage): { sessions: VoteSessions; problem: string | null } {
  let text: string | null;
  try {
    text = storage.getItem(VOTES_STORAGE_KEY);
  } catch (error) {
    return { sessions: {}, problem: blockedMessage(error) };
  }
  if (text === null) return { sessions: {}, problem: null };

  try {
    const parsed = JSON.parse(text) as { version?: unknown; sessions?: unknown };
    if (parsed?.version !== STORAGE_VERSION || !parsed.sessions || typeof parsed.sessions !== 'object') {
      throw new Error(`expected version ${STORAGE_VERSION} with sessions`);
    }
    const sessions: VoteSessions = {};
    for (const [key, votes] of Object.entries(parsed.sessions as Record<string, unknown>)) {
      if (Array.isArray(votes) && votes.every(isVote)) sessions[key] = votes;
    }
    return { sessions, problem: null };
  } catch (error) {
    return { sessions: {}, problem: `The votes saved earlier in this browser could not be read (${error instanceof Error ? error.message : String(error)}), so they were set aside.` };
  }
}

/** Writes every session. Returns null on success, or a message for the reader when storage is full or blocked. */
export function saveVotes(storage: Storage, sessions: VoteSessions): string | null {
  try {
    storage.setItem(VOTES_STORAGE_KEY, JSON.stringify({ version: STORAGE_VERSION, sessions }));
    return null;
  } catch (error) {
    if (isQuotaError(error)) {
      return `Browser storage for this site is full (${errorName(error)}), so new votes are kept only until you leave the page. Clearing this site's data frees the space.`;
    }
    return blockedMessage(error);
  }
}

/** Removes every stored session. Returns null on success, or a message for the reader. */
export function clearStoredVotes(storage: Storage): string | null {
  try {
    storage.removeItem(VOTES_STORAGE_KEY);
    return null;
  } catch (error) {
    return blockedMessage(error);
  }
}
