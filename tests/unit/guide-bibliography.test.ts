import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import {
  bibliography,
  bibliographyEntry,
  bibliographyPath,
  formatAuthors,
  publicationLabel,
  publicationUrl,
} from '../../src/data/bibliography';

const DOCS_DIR = join(import.meta.dirname, '../../src/content/docs');
const GUIDE_DIR = join(DOCS_DIR, 'guide');
const CHAPTERS_DIR = join(DOCS_DIR, 'chapters');

interface MarkdownLink {
  file: string;
  text: string;
  href: string;
}

function readMdx(folder: string): { file: string; source: string }[] {
  return readdirSync(folder)
    .filter((name) => name.endsWith('.mdx'))
    .sort()
    .map((name) => ({ file: name, source: readFileSync(join(folder, name), 'utf8') }));
}

/** Markdown links `[text](href)` of an MDX source; link texts in this guide contain no brackets. */
function markdownLinks(file: string, source: string): MarkdownLink[] {
  return [...source.matchAll(/\[([^\]]+)\]\(([^)\s]+)\)/g)].map((match) => ({ file, text: match[1], href: match[2] }));
}

const guidePages = readMdx(GUIDE_DIR);
const guideLinks = guidePages.flatMap(({ file, source }) => markdownLinks(file, source));

/** Bibliography anchor of a guide link, or null when it links elsewhere. */
function citedId(link: MarkdownLink): string | null {
  const match = /(?:^|\/)bibliography\/#([^/]+)$/.exec(link.href);
  if (match) return match[1];
  if (link.file === 'bibliography.mdx' && link.href.startsWith('#')) return link.href.slice(1);
  return null;
}

/** Heading anchors as github-slugger makes them for headings of ASCII letters, digits, spaces and hyphens. */
function slug(heading: string): string {
  return heading.toLowerCase().replace(/ /g, '-');
}

describe('bibliography data', () => {
  it('has unique ids', () => {
    const ids = bibliography.map((entry) => entry.id);

    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id, id).toMatch(/^[a-z0-9-]+$/);
  });

  it('has unique citation labels', () => {
    const labels = bibliography.map((entry) => entry.cite);

    expect(new Set(labels).size).toBe(labels.length);
  });

  it('entries are complete', () => {
    for (const entry of bibliography) {
      expect(entry.authors.length, entry.id).toBeGreaterThan(0);
      expect(entry.title.trim(), entry.id).not.toBe('');
      expect(entry.venue.trim(), entry.id).not.toBe('');
      if (entry.year !== null) {
        expect(entry.year, entry.id).toBeGreaterThanOrEqual(1900);
        expect(entry.year, entry.id).toBeLessThanOrEqual(2030);
        expect(entry.cite, `${entry.id} label names its year`).toContain(String(entry.year));
      }
      for (const author of entry.authors) expect(author, entry.id).toMatch(/\S/);
    }
  });

  it('publications have well-formed identifiers', () => {
    for (const entry of bibliography) {
      const { publication } = entry;
      if (publication.kind === 'arxiv') expect(publication.arxiv, entry.id).toMatch(/^\d{4}\.\d{4,5}$/);
      if (publication.kind === 'doi') expect(publication.doi, entry.id).toMatch(/^10\.\d{4,}\/\S+$/);
      if (publication.kind === 'web') expect(publication.url, entry.id).toMatch(/^https:\/\//);
    }
  });

  it('has no arXiv paper twice', () => {
    const arxivIds = bibliography.flatMap((entry) => (entry.publication.kind === 'arxiv' ? [entry.publication.arxiv] : []));

    expect(new Set(arxivIds).size).toBe(arxivIds.length);
  });

  // The papers the guide is built on, by arXiv identifier.
  it.each([
    ['ramesh2021', '2102.12092'],
    ['radford2021', '2103.00020'],
    ['ramesh2022', '2204.06125'],
    ['ho2020', '2006.11239'],
    ['song2021', '2010.02502'],
    ['nichol2021', '2102.09672'],
    ['ho2021', '2207.12598'],
    ['nichol2022', '2112.10741'],
    ['rombach2022', '2112.10752'],
    ['saharia2022', '2205.11487'],
    ['yu2022', '2206.10789'],
    ['vandenoord2017', '1711.00937'],
    ['razavi2019', '1906.00446'],
    ['heusel2017', '1706.08500'],
    ['kynkaanniemi2019', '1904.06991'],
    ['vaswani2017', '1706.03762'],
    ['sennrich2016', '1508.07909'],
    ['jang2017', '1611.01144'],
    ['ronneberger2015', '1505.04597'],
  ])('lists %s as arXiv:%s', (id, arxiv) => {
    expect(bibliographyEntry(id).publication).toEqual({ kind: 'arxiv', arxiv });
  });

  it('lists DALL·E 3 and MNIST', () => {
    expect(bibliographyEntry('betker2023').title).toBe('Improving Image Generation with Better Captions');
    expect(bibliographyEntry('betker2023').publication).toEqual({ kind: 'web', url: 'https://cdn.openai.com/papers/dall-e-3.pdf' });
    expect(bibliographyEntry('lecun1998').year).toBe(1998);
  });

  it('rejects an unknown id', () => {
    expect(() => bibliographyEntry('nobody2099')).toThrow(/"nobody2099" not found/);
  });
});

describe('bibliography formatting', () => {
  it('joins authors', () => {
    expect(formatAuthors(['Ho, J.'])).toBe('Ho, J.');
    expect(formatAuthors(['Ho, J.', 'Salimans, T.'])).toBe('Ho, J. and Salimans, T.');
    expect(formatAuthors(['Ho, J.', 'Jain, A.', 'Abbeel, P.'])).toBe('Ho, J., Jain, A., and Abbeel, P.');
  });

  it('links each kind of publication', () => {
    expect(publicationUrl({ kind: 'arxiv', arxiv: '2102.12092' })).toBe('https://arxiv.org/abs/2102.12092');
    expect(publicationLabel({ kind: 'arxiv', arxiv: '2102.12092' })).toBe('arXiv:2102.12092');
    expect(publicationUrl({ kind: 'doi', doi: '10.1109/5.726791' })).toBe('https://doi.org/10.1109/5.726791');
    expect(publicationLabel({ kind: 'web', url: 'https://cdn.openai.com/papers/dall-e-3.pdf' })).toBe('cdn.openai.com');
  });

  it('builds anchor paths', () => {
    expect(bibliographyPath('radford2021')).toBe('guide/bibliography/#radford2021');
  });
});

describe('guide citations', () => {
  const citations = guideLinks.flatMap((link) => {
    const id = citedId(link);
    return id === null ? [] : [{ ...link, id }];
  });

  it('every guide page cites papers', () => {
    for (const { file } of guidePages) {
      if (file === 'bibliography.mdx' || file === 'glossary.mdx') continue;
      expect(
        citations.filter((citation) => citation.file === file).length,
        `citations in ${file}`,
      ).toBeGreaterThan(5);
    }
  });

  it('every citation names an entry', () => {
    const ids = new Set<string>(bibliography.map((entry) => entry.id));

    for (const citation of citations) {
      expect(ids.has(citation.id), `${citation.file}: [${citation.text}](${citation.href})`).toBe(true);
    }
  });

  it('citation text starts with the entry label', () => {
    for (const citation of citations) {
      const entry = bibliographyEntry(citation.id);
      expect(citation.text.startsWith(entry.cite), `${citation.file}: "${citation.text}" cites ${entry.id} (${entry.cite})`).toBe(true);
    }
  });

  it('citation links use the relative path', () => {
    for (const citation of citations) {
      if (citation.file === 'bibliography.mdx') continue;
      expect(citation.href, `${citation.file}: ${citation.text}`).toBe(`../bibliography/#${citation.id}`);
    }
  });
});

describe('guide links', () => {
  const pageNames = new Set(guidePages.map(({ file }) => file.replace(/\.mdx$/, '')));
  const chapterNames = new Set(readMdx(CHAPTERS_DIR).map(({ file }) => file.replace(/\.mdx$/, '')));

  it('links to guide pages and chapters that exist', () => {
    for (const link of guideLinks) {
      const guidePage = /^\.\.\/([a-z-]+)\/(?:#.*)?$/.exec(link.href);
      if (guidePage) expect(pageNames.has(guidePage[1]), `${link.file}: ${link.href}`).toBe(true);

      const chapter = /^\.\.\/\.\.\/chapters\/([a-z-]+)\/(?:#.*)?$/.exec(link.href);
      if (chapter) expect(chapterNames.has(chapter[1]), `${link.file}: ${link.href}`).toBe(true);
    }
  });

  it('links to the glossary reach its headings', () => {
    const glossary = guidePages.find(({ file }) => file === 'glossary.mdx');
    const anchors = new Set([...(glossary?.source ?? '').matchAll(/^## (.+)$/gm)].map((match) => slug(match[1])));

    for (const link of guideLinks) {
      const inGlossary = link.file === 'glossary.mdx' && link.href.startsWith('#');
      const toGlossary = /(?:^|\/)glossary\/#(.+)$/.exec(link.href);
      const anchor = inGlossary ? link.href.slice(1) : toGlossary?.[1];
      if (anchor === undefined) continue;
      expect(anchors.has(anchor), `${link.file}: ${link.href}`).toBe(true);
    }
  });
});

describe('glossary', () => {
  const source = guidePages.find(({ file }) => file === 'glossary.mdx')?.source ?? '';
  const terms = [...source.matchAll(/^## (.+)$/gm)].map((match) => match[1]);

  it('defines at least 30 terms', () => {
    expect(terms.length).toBeGreaterThanOrEqual(30);
  });

  it('terms are in alphabetical order', () => {
    const sorted = [...terms].sort((a, b) => a.localeCompare(b, 'en', { sensitivity: 'base' }));

    expect(terms).toEqual(sorted);
  });

  it('headings give predictable anchors', () => {
    for (const term of terms) expect(term, term).toMatch(/^[A-Za-z0-9][A-Za-z0-9 -]*$/);
    const anchors = terms.map(slug);
    expect(new Set(anchors).size).toBe(anchors.length);
  });

  // The terms the course's chapters rely on most.
  it.each([
    'autoregressive-model',
    'bpe',
    'classifier-free-guidance',
    'clip-score',
    'codebook',
    'contrastive-loss',
    'cosine-schedule',
    'ddim',
    'ddpm',
    'diffusion-prior',
    'dvae',
    'fid',
    'gumbel-softmax',
    'kv-cache',
    'latent',
    'perplexity',
    'precision-and-recall',
    'reranking',
    'slerp',
    'top-k-sampling',
    'u-net',
    'unclip',
    'vq-vae',
    'zero-shot',
  ])('defines %s', (anchor) => {
    expect(terms.map(slug)).toContain(anchor);
  });

  it('every term links to where it is used', () => {
    const sections = source.split(/^## /m).slice(1);

    for (const section of sections) {
      const term = section.slice(0, section.indexOf('\n'));
      expect(section, term).toMatch(/(Used in|Discussed in|see \[)[^]*\]\((\.\.\/\.\.\/chapters\/|\.\.\/[a-z-]+\/|#)/);
    }
  });
});

describe('chapter references', () => {
  it('every arXiv paper a chapter cites is in the bibliography', () => {
    const listed = new Set<string>(bibliography.flatMap((entry) => (entry.publication.kind === 'arxiv' ? [entry.publication.arxiv] : [])));

    for (const { file, source } of readMdx(CHAPTERS_DIR)) {
      for (const match of source.matchAll(/arXiv:(\d{4}\.\d{4,5})/g)) {
        expect(listed.has(match[1]), `${file} cites arXiv:${match[1]}`).toBe(true);
      }
    }
  });
});
