/**
 * The models of the overview page's timeline: the DALL·E family, its neighbours and the
 * work they build on. Entries are in date order; tests/unit/guide-timeline.test.ts checks
 * that, and that every citation names an entry of src/data/bibliography.ts.
 */
import { bibliographyEntry, bibliographyPath, type BibliographyId } from './bibliography';

/** Lane of the timeline an entry is drawn in. */
export type TimelineLane = 'foundation' | 'family' | 'neighbour';

export interface TimelineEntry {
  /** Unique id, lowercase letters, digits and hyphens. */
  id: string;
  name: string;
  /** Month of first public appearance as "YYYY-MM": the arXiv preprint, unless `dateNote` names another event. */
  date: string;
  /** Event the date refers to, when it is not the first arXiv version. */
  dateNote?: string;
  lane: TimelineLane;
  /** One or two sentences, shown when the entry is selected and in the text list. */
  summary: string;
  /** Bibliography entry that the summary's facts come from. */
  citation: BibliographyId;
  /** Course chapter that works through the idea: its path below the base URL and its title. */
  chapter?: { path: string; title: string };
}

export const TIMELINE_LANES: readonly { id: TimelineLane; label: string }[] = [
  { id: 'foundation', label: 'Foundations: image tokens and diffusion' },
  { id: 'family', label: 'The DALL·E family' },
  { id: 'neighbour', label: 'Neighbours' },
];

export const timeline: readonly TimelineEntry[] = [
  {
    id: 'vq-vae',
    name: 'VQ-VAE',
    date: '2017-11',
    lane: 'foundation',
    summary:
      'An autoencoder whose encoder outputs discrete codes from a learned codebook, with a prior over the codes learned afterwards. The ancestor of every image tokenizer here.',
    citation: 'vandenoord2017',
    chapter: { path: 'chapters/images-as-tokens/', title: 'Images as tokens' },
  },
  {
    id: 'vq-vae-2',
    name: 'VQ-VAE-2',
    date: '2019-06',
    lane: 'foundation',
    summary:
      'A hierarchy of discrete latent maps with autoregressive priors over them; DALL·E borrows its idea of reranking samples.',
    citation: 'razavi2019',
  },
  {
    id: 'ddpm',
    name: 'DDPM',
    date: '2020-06',
    lane: 'foundation',
    summary:
      'Denoising diffusion probabilistic models: a network learns to predict the noise added to an image, and sampling removes it step by step.',
    citation: 'ho2020',
    chapter: { path: 'chapters/diffusion/', title: 'Diffusion' },
  },
  {
    id: 'ddim',
    name: 'DDIM',
    date: '2020-10',
    lane: 'foundation',
    summary:
      'A sampler for networks trained as in DDPM that can skip timesteps and, with η = 0, is deterministic given the starting noise.',
    citation: 'song2021',
    chapter: { path: 'chapters/diffusion/', title: 'Diffusion' },
  },
  {
    id: 'dalle',
    name: 'DALL·E',
    date: '2021-01',
    dateNote: 'announced on 5 January 2021; the paper followed on arXiv in February 2021',
    lane: 'family',
    summary:
      'A 12-billion-parameter transformer that models caption tokens and 32×32 dVAE image tokens as one stream, with samples reranked by CLIP.',
    citation: 'ramesh2021',
    chapter: { path: 'chapters/dalle/', title: 'DALL·E' },
  },
  {
    id: 'clip',
    name: 'CLIP',
    date: '2021-01',
    dateNote: 'announced on 5 January 2021; the paper followed on arXiv in February 2021',
    lane: 'family',
    summary:
      'An image encoder and a text encoder trained with a contrastive loss on 400 million image–text pairs, so that matching pairs lie close in one embedding space.',
    citation: 'radford2021',
    chapter: { path: 'chapters/clip/', title: 'CLIP' },
  },
  {
    id: 'improved-ddpm',
    name: 'Improved DDPM',
    date: '2021-02',
    lane: 'foundation',
    summary: 'A cosine noise schedule and learned reverse variances for diffusion models.',
    citation: 'nichol2021',
    chapter: { path: 'chapters/diffusion/', title: 'Diffusion' },
  },
  {
    id: 'guided-diffusion',
    name: 'Classifier guidance',
    date: '2021-05',
    lane: 'foundation',
    summary:
      'The ADM U-Net and guidance of a diffusion sampler by a classifier trained on noisy images; GLIDE builds its text-conditional model on ADM.',
    citation: 'dhariwal2021',
  },
  {
    id: 'classifier-free-guidance',
    name: 'Classifier-free guidance',
    date: '2021-12',
    dateNote: 'workshop paper of December 2021; on arXiv in July 2022',
    lane: 'foundation',
    summary:
      'One network trained with and without its condition; sampling extrapolates from the unconditional prediction towards the conditional one.',
    citation: 'ho2021',
    chapter: { path: 'chapters/diffusion/', title: 'Diffusion' },
  },
  {
    id: 'glide',
    name: 'GLIDE',
    date: '2021-12',
    lane: 'neighbour',
    summary:
      'A 3.5-billion-parameter text-conditional diffusion model on pixels; human raters preferred classifier-free guidance to CLIP guidance.',
    citation: 'nichol2022',
  },
  {
    id: 'latent-diffusion',
    name: 'Latent Diffusion',
    date: '2021-12',
    lane: 'neighbour',
    summary:
      'Diffusion in the latent space of a pretrained autoencoder, conditioned on text through cross-attention, at a fraction of the cost of pixel diffusion.',
    citation: 'rombach2022',
  },
  {
    id: 'dalle-2',
    name: 'DALL·E 2 (unCLIP)',
    date: '2022-04',
    lane: 'family',
    summary:
      'A prior turns a caption into a CLIP image embedding, and a diffusion decoder turns the embedding into an image.',
    citation: 'ramesh2022',
    chapter: { path: 'chapters/unclip/', title: 'unCLIP (DALL·E 2)' },
  },
  {
    id: 'imagen',
    name: 'Imagen',
    date: '2022-05',
    lane: 'neighbour',
    summary:
      'Cascaded pixel diffusion conditioned on a frozen T5-XXL text encoder; a larger text encoder helped more than a larger image model.',
    citation: 'saharia2022',
  },
  {
    id: 'parti',
    name: 'Parti',
    date: '2022-06',
    lane: 'neighbour',
    summary:
      'Text-to-image as sequence-to-sequence translation: an encoder–decoder transformer of up to 20 billion parameters writes ViT-VQGAN image tokens.',
    citation: 'yu2022',
  },
  {
    id: 'stable-diffusion',
    name: 'Stable Diffusion',
    date: '2022-08',
    dateNote: 'public release of the weights',
    lane: 'neighbour',
    summary:
      'A latent diffusion model with a frozen CLIP ViT-L/14 text encoder, trained on subsets of LAION-2B(en), released with its weights.',
    citation: 'rombach-esser2022',
  },
  {
    id: 'dalle-3',
    name: 'DALL·E 3',
    date: '2023-10',
    dateNote: 'technical report',
    lane: 'family',
    summary:
      'Trained mostly on captions written by a learned image captioner (95 % synthetic, 5 % original), which makes images follow their prompts more closely.',
    citation: 'betker2023',
  },
];

/** An entry as the Timeline component draws it: serialisable props, links resolved against the base URL. */
export interface TimelineItem {
  id: string;
  name: string;
  /** "YYYY-MM". */
  date: string;
  /** Month and year in words, e.g. "January 2021". */
  monthText: string;
  /** `monthText` followed by the date note, if the entry has one. */
  dateText: string;
  laneLabel: string;
  lane: TimelineLane;
  summary: string;
  citationText: string;
  citationHref: string;
  chapterTitle?: string;
  chapterHref?: string;
}

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
] as const;

const DATE_PATTERN = /^(\d{4})-(0[1-9]|1[0-2])$/;

/** Splits a "YYYY-MM" date into year and month (1–12). Throws on any other format. */
export function parseTimelineDate(date: string): { year: number; month: number } {
  const match = DATE_PATTERN.exec(date);
  if (!match) throw new Error(`Timeline date "${date}" is invalid: write it as YYYY-MM, e.g. 2021-01.`);
  return { year: Number(match[1]), month: Number(match[2]) };
}

/** "2021-01" → "January 2021". */
export function formatTimelineDate(date: string): string {
  const { year, month } = parseTimelineDate(date);
  return `${MONTHS[month - 1]} ${year}`;
}

function laneLabel(lane: TimelineLane): string {
  const found = TIMELINE_LANES.find((candidate) => candidate.id === lane);
  if (!found) throw new Error(`Timeline lane "${lane}" is not one of ${TIMELINE_LANES.map((l) => l.id).join(', ')}.`);
  return found.label;
}

/**
 * Builds the Timeline component's items. `baseUrl` is the site's base path with a trailing
 * slash (`import.meta.env.BASE_URL`), so the links work under any base path.
 */
export function timelineItems(baseUrl: string): TimelineItem[] {
  return timeline.map((entry) => {
    const month = formatTimelineDate(entry.date);
    return {
      id: entry.id,
      name: entry.name,
      date: entry.date,
      monthText: month,
      dateText: entry.dateNote ? `${month} (${entry.dateNote})` : month,
      lane: entry.lane,
      laneLabel: laneLabel(entry.lane),
      summary: entry.summary,
      citationText: bibliographyEntry(entry.citation).cite,
      citationHref: `${baseUrl}${bibliographyPath(entry.citation)}`,
      chapterTitle: entry.chapter?.title,
      chapterHref: entry.chapter ? `${baseUrl}${entry.chapter.path}` : undefined,
    };
  });
}
