/**
 * Every work the guide pages and the timeline cite, with an anchor id per entry.
 *
 * The bibliography page renders the entries sorted by `cite`, each as an element with
 * `id={entry.id}`, so a page cites one as `[Ramesh et al. 2021, Section 2.3](../bibliography/#ramesh2021)`.
 * tests/unit/guide-bibliography.test.ts checks that every such link in the guide's MDX
 * names an entry here and that its text starts with the entry's `cite`.
 */

/** Where a work appeared, which decides how the bibliography page links to it. */
export type Publication =
  /** An arXiv preprint, possibly also published at `venue`. */
  | { kind: 'arxiv'; arxiv: string }
  /** A report, model card, web page or blog post at `url`. */
  | { kind: 'web'; url: string }
  /** A journal article with a DOI. */
  | { kind: 'doi'; doi: string };

export interface BibliographyEntry {
  /** Anchor id on the bibliography page: lowercase letters, digits and hyphens. */
  id: string;
  /** Authors as "Surname, I." in the order of the work. */
  authors: readonly string[];
  /** Year of the venue, or null for an undated web page. */
  year: number | null;
  title: string;
  /** Conference, journal or kind of document, e.g. "Proceedings of the 38th International Conference on Machine Learning (ICML)". */
  venue: string;
  publication: Publication;
  /** Author–year label that starts every citation link to this entry, e.g. "Ramesh et al. 2021". */
  cite: string;
}

export const bibliography = [
  {
    id: 'lecun1998',
    authors: ['LeCun, Y.', 'Bottou, L.', 'Bengio, Y.', 'Haffner, P.'],
    year: 1998,
    title: 'Gradient-Based Learning Applied to Document Recognition',
    venue: 'Proceedings of the IEEE, 86(11), 2278–2324',
    publication: { kind: 'doi', doi: '10.1109/5.726791' },
    cite: 'LeCun et al. 1998',
  },
  {
    id: 'lecun-mnist',
    authors: ['LeCun, Y.', 'Cortes, C.', 'Burges, C. J. C.'],
    year: null,
    title: 'The MNIST Database of Handwritten Digits',
    venue: 'Web page (undated)',
    publication: { kind: 'web', url: 'https://yann.lecun.com/exdb/mnist/' },
    cite: 'LeCun, Cortes and Burges',
  },
  {
    id: 'wilson1927',
    authors: ['Wilson, E. B.'],
    year: 1927,
    title: 'Probable Inference, the Law of Succession, and Statistical Inference',
    venue: 'Journal of the American Statistical Association, 22(158), 209–212',
    publication: { kind: 'doi', doi: '10.1080/01621459.1927.10502953' },
    cite: 'Wilson 1927',
  },
  {
    id: 'brown2001',
    authors: ['Brown, L. D.', 'Cai, T. T.', 'DasGupta, A.'],
    year: 2001,
    title: 'Interval Estimation for a Binomial Proportion',
    venue: 'Statistical Science, 16(2), 101–133',
    publication: { kind: 'doi', doi: '10.1214/ss/1009213286' },
    cite: 'Brown et al. 2001',
  },
  {
    id: 'kingma2014',
    authors: ['Kingma, D. P.', 'Welling, M.'],
    year: 2014,
    title: 'Auto-Encoding Variational Bayes',
    venue: 'International Conference on Learning Representations (ICLR)',
    publication: { kind: 'arxiv', arxiv: '1312.6114' },
    cite: 'Kingma and Welling 2014',
  },
  {
    id: 'ronneberger2015',
    authors: ['Ronneberger, O.', 'Fischer, P.', 'Brox, T.'],
    year: 2015,
    title: 'U-Net: Convolutional Networks for Biomedical Image Segmentation',
    venue: 'Medical Image Computing and Computer-Assisted Intervention (MICCAI)',
    publication: { kind: 'arxiv', arxiv: '1505.04597' },
    cite: 'Ronneberger et al. 2015',
  },
  {
    id: 'sohl-dickstein2015',
    authors: ['Sohl-Dickstein, J.', 'Weiss, E. A.', 'Maheswaranathan, N.', 'Ganguli, S.'],
    year: 2015,
    title: 'Deep Unsupervised Learning using Nonequilibrium Thermodynamics',
    venue: 'Proceedings of the 32nd International Conference on Machine Learning (ICML)',
    publication: { kind: 'arxiv', arxiv: '1503.03585' },
    cite: 'Sohl-Dickstein et al. 2015',
  },
  {
    id: 'sennrich2016',
    authors: ['Sennrich, R.', 'Haddow, B.', 'Birch, A.'],
    year: 2016,
    title: 'Neural Machine Translation of Rare Words with Subword Units',
    venue: 'Proceedings of the 54th Annual Meeting of the Association for Computational Linguistics (ACL)',
    publication: { kind: 'arxiv', arxiv: '1508.07909' },
    cite: 'Sennrich et al. 2016',
  },
  {
    id: 'jang2017',
    authors: ['Jang, E.', 'Gu, S.', 'Poole, B.'],
    year: 2017,
    title: 'Categorical Reparameterization with Gumbel-Softmax',
    venue: 'International Conference on Learning Representations (ICLR)',
    publication: { kind: 'arxiv', arxiv: '1611.01144' },
    cite: 'Jang et al. 2017',
  },
  {
    id: 'maddison2017',
    authors: ['Maddison, C. J.', 'Mnih, A.', 'Teh, Y. W.'],
    year: 2017,
    title: 'The Concrete Distribution: A Continuous Relaxation of Discrete Random Variables',
    venue: 'International Conference on Learning Representations (ICLR)',
    publication: { kind: 'arxiv', arxiv: '1611.00712' },
    cite: 'Maddison et al. 2017',
  },
  {
    id: 'vaswani2017',
    authors: [
      'Vaswani, A.',
      'Shazeer, N.',
      'Parmar, N.',
      'Uszkoreit, J.',
      'Jones, L.',
      'Gomez, A. N.',
      'Kaiser, Ł.',
      'Polosukhin, I.',
    ],
    year: 2017,
    title: 'Attention Is All You Need',
    venue: 'Advances in Neural Information Processing Systems 30 (NeurIPS)',
    publication: { kind: 'arxiv', arxiv: '1706.03762' },
    cite: 'Vaswani et al. 2017',
  },
  {
    id: 'heusel2017',
    authors: ['Heusel, M.', 'Ramsauer, H.', 'Unterthiner, T.', 'Nessler, B.', 'Hochreiter, S.'],
    year: 2017,
    title: 'GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash Equilibrium',
    venue: 'Advances in Neural Information Processing Systems 30 (NeurIPS)',
    publication: { kind: 'arxiv', arxiv: '1706.08500' },
    cite: 'Heusel et al. 2017',
  },
  {
    id: 'vandenoord2017',
    authors: ['van den Oord, A.', 'Vinyals, O.', 'Kavukcuoglu, K.'],
    year: 2017,
    title: 'Neural Discrete Representation Learning',
    venue: 'Advances in Neural Information Processing Systems 30 (NeurIPS)',
    publication: { kind: 'arxiv', arxiv: '1711.00937' },
    cite: 'van den Oord et al. 2017',
  },
  {
    id: 'fan2018',
    authors: ['Fan, A.', 'Lewis, M.', 'Dauphin, Y.'],
    year: 2018,
    title: 'Hierarchical Neural Story Generation',
    venue: 'Proceedings of the 56th Annual Meeting of the Association for Computational Linguistics (ACL)',
    publication: { kind: 'arxiv', arxiv: '1805.04833' },
    cite: 'Fan et al. 2018',
  },
  {
    id: 'sajjadi2018',
    authors: ['Sajjadi, M. S. M.', 'Bachem, O.', 'Lucic, M.', 'Bousquet, O.', 'Gelly, S.'],
    year: 2018,
    title: 'Assessing Generative Models via Precision and Recall',
    venue: 'Advances in Neural Information Processing Systems 31 (NeurIPS)',
    publication: { kind: 'arxiv', arxiv: '1806.00035' },
    cite: 'Sajjadi et al. 2018',
  },
  {
    id: 'child2019',
    authors: ['Child, R.', 'Gray, S.', 'Radford, A.', 'Sutskever, I.'],
    year: 2019,
    title: 'Generating Long Sequences with Sparse Transformers',
    venue: 'arXiv preprint',
    publication: { kind: 'arxiv', arxiv: '1904.10509' },
    cite: 'Child et al. 2019',
  },
  {
    id: 'razavi2019',
    authors: ['Razavi, A.', 'van den Oord, A.', 'Vinyals, O.'],
    year: 2019,
    title: 'Generating Diverse High-Fidelity Images with VQ-VAE-2',
    venue: 'Advances in Neural Information Processing Systems 32 (NeurIPS)',
    publication: { kind: 'arxiv', arxiv: '1906.00446' },
    cite: 'Razavi et al. 2019',
  },
  {
    id: 'kynkaanniemi2019',
    authors: ['Kynkäänniemi, T.', 'Karras, T.', 'Laine, S.', 'Lehtinen, J.', 'Aila, T.'],
    year: 2019,
    title: 'Improved Precision and Recall Metric for Assessing Generative Models',
    venue: 'Advances in Neural Information Processing Systems 32 (NeurIPS)',
    publication: { kind: 'arxiv', arxiv: '1904.06991' },
    cite: 'Kynkäänniemi et al. 2019',
  },
  {
    id: 'chong2020',
    authors: ['Chong, M. J.', 'Forsyth, D.'],
    year: 2020,
    title: 'Effectively Unbiased FID and Inception Score and Where to Find Them',
    venue: 'Proceedings of the IEEE/CVF Conference on Computer Vision and Pattern Recognition (CVPR)',
    publication: { kind: 'arxiv', arxiv: '1911.07023' },
    cite: 'Chong and Forsyth 2020',
  },
  {
    id: 'naeem2020',
    authors: ['Naeem, M. F.', 'Oh, S. J.', 'Uh, Y.', 'Choi, Y.', 'Yoo, J.'],
    year: 2020,
    title: 'Reliable Fidelity and Diversity Metrics for Generative Models',
    venue: 'Proceedings of the 37th International Conference on Machine Learning (ICML)',
    publication: { kind: 'arxiv', arxiv: '2002.09797' },
    cite: 'Naeem et al. 2020',
  },
  {
    id: 'holtzman2020',
    authors: ['Holtzman, A.', 'Buys, J.', 'Du, L.', 'Forbes, M.', 'Choi, Y.'],
    year: 2020,
    title: 'The Curious Case of Neural Text Degeneration',
    venue: 'International Conference on Learning Representations (ICLR)',
    publication: { kind: 'arxiv', arxiv: '1904.09751' },
    cite: 'Holtzman et al. 2020',
  },
  {
    id: 'raffel2020',
    authors: [
      'Raffel, C.',
      'Shazeer, N.',
      'Roberts, A.',
      'Lee, K.',
      'Narang, S.',
      'Matena, M.',
      'Zhou, Y.',
      'Li, W.',
      'Liu, P. J.',
    ],
    year: 2020,
    title: 'Exploring the Limits of Transfer Learning with a Unified Text-to-Text Transformer',
    venue: 'Journal of Machine Learning Research, 21(140)',
    publication: { kind: 'arxiv', arxiv: '1910.10683' },
    cite: 'Raffel et al. 2020',
  },
  {
    id: 'ho2020',
    authors: ['Ho, J.', 'Jain, A.', 'Abbeel, P.'],
    year: 2020,
    title: 'Denoising Diffusion Probabilistic Models',
    venue: 'Advances in Neural Information Processing Systems 33 (NeurIPS)',
    publication: { kind: 'arxiv', arxiv: '2006.11239' },
    cite: 'Ho et al. 2020',
  },
  {
    id: 'song2021',
    authors: ['Song, J.', 'Meng, C.', 'Ermon, S.'],
    year: 2021,
    title: 'Denoising Diffusion Implicit Models',
    venue: 'International Conference on Learning Representations (ICLR)',
    publication: { kind: 'arxiv', arxiv: '2010.02502' },
    cite: 'Song et al. 2021',
  },
  {
    id: 'esser2021',
    authors: ['Esser, P.', 'Rombach, R.', 'Ommer, B.'],
    year: 2021,
    title: 'Taming Transformers for High-Resolution Image Synthesis',
    venue: 'Proceedings of the IEEE/CVF Conference on Computer Vision and Pattern Recognition (CVPR)',
    publication: { kind: 'arxiv', arxiv: '2012.09841' },
    cite: 'Esser et al. 2021',
  },
  {
    id: 'openai2021-dalle',
    authors: ['OpenAI'],
    year: 2021,
    title: 'DALL·E: Creating Images from Text',
    venue: 'Blog post, 5 January 2021',
    publication: { kind: 'web', url: 'https://openai.com/blog/dall-e/' },
    cite: 'OpenAI 2021a',
  },
  {
    id: 'openai2021-clip',
    authors: ['OpenAI'],
    year: 2021,
    title: 'CLIP: Connecting Text and Images',
    venue: 'Blog post, 5 January 2021',
    publication: { kind: 'web', url: 'https://openai.com/blog/clip/' },
    cite: 'OpenAI 2021b',
  },
  {
    id: 'ramesh2021',
    authors: ['Ramesh, A.', 'Pavlov, M.', 'Goh, G.', 'Gray, S.', 'Voss, C.', 'Radford, A.', 'Chen, M.', 'Sutskever, I.'],
    year: 2021,
    title: 'Zero-Shot Text-to-Image Generation',
    venue: 'Proceedings of the 38th International Conference on Machine Learning (ICML)',
    publication: { kind: 'arxiv', arxiv: '2102.12092' },
    cite: 'Ramesh et al. 2021',
  },
  {
    id: 'radford2021',
    authors: [
      'Radford, A.',
      'Kim, J. W.',
      'Hallacy, C.',
      'Ramesh, A.',
      'Goh, G.',
      'Agarwal, S.',
      'Sastry, G.',
      'Askell, A.',
      'Mishkin, P.',
      'Clark, J.',
      'Krueger, G.',
      'Sutskever, I.',
    ],
    year: 2021,
    title: 'Learning Transferable Visual Models From Natural Language Supervision',
    venue: 'Proceedings of the 38th International Conference on Machine Learning (ICML)',
    publication: { kind: 'arxiv', arxiv: '2103.00020' },
    cite: 'Radford et al. 2021',
  },
  {
    id: 'nichol2021',
    authors: ['Nichol, A.', 'Dhariwal, P.'],
    year: 2021,
    title: 'Improved Denoising Diffusion Probabilistic Models',
    venue: 'Proceedings of the 38th International Conference on Machine Learning (ICML)',
    publication: { kind: 'arxiv', arxiv: '2102.09672' },
    cite: 'Nichol and Dhariwal 2021',
  },
  {
    id: 'hessel2021',
    authors: ['Hessel, J.', 'Holtzman, A.', 'Forbes, M.', 'Le Bras, R.', 'Choi, Y.'],
    year: 2021,
    title: 'CLIPScore: A Reference-free Evaluation Metric for Image Captioning',
    venue: 'Proceedings of the 2021 Conference on Empirical Methods in Natural Language Processing (EMNLP)',
    publication: { kind: 'arxiv', arxiv: '2104.08718' },
    cite: 'Hessel et al. 2021',
  },
  {
    id: 'dhariwal2021',
    authors: ['Dhariwal, P.', 'Nichol, A.'],
    year: 2021,
    title: 'Diffusion Models Beat GANs on Image Synthesis',
    venue: 'Advances in Neural Information Processing Systems 34 (NeurIPS)',
    publication: { kind: 'arxiv', arxiv: '2105.05233' },
    cite: 'Dhariwal and Nichol 2021',
  },
  {
    id: 'ho2021',
    authors: ['Ho, J.', 'Salimans, T.'],
    year: 2021,
    title: 'Classifier-Free Diffusion Guidance',
    venue: 'NeurIPS 2021 Workshop on Deep Generative Models and Downstream Applications (on arXiv in 2022)',
    publication: { kind: 'arxiv', arxiv: '2207.12598' },
    cite: 'Ho and Salimans 2021',
  },
  {
    id: 'nichol2022',
    authors: [
      'Nichol, A.',
      'Dhariwal, P.',
      'Ramesh, A.',
      'Shyam, P.',
      'Mishkin, P.',
      'McGrew, B.',
      'Sutskever, I.',
      'Chen, M.',
    ],
    year: 2022,
    title: 'GLIDE: Towards Photorealistic Image Generation and Editing with Text-Guided Diffusion Models',
    venue: 'Proceedings of the 39th International Conference on Machine Learning (ICML)',
    publication: { kind: 'arxiv', arxiv: '2112.10741' },
    cite: 'Nichol et al. 2022',
  },
  {
    id: 'rombach2022',
    authors: ['Rombach, R.', 'Blattmann, A.', 'Lorenz, D.', 'Esser, P.', 'Ommer, B.'],
    year: 2022,
    title: 'High-Resolution Image Synthesis with Latent Diffusion Models',
    venue: 'Proceedings of the IEEE/CVF Conference on Computer Vision and Pattern Recognition (CVPR), 10684–10695',
    publication: { kind: 'arxiv', arxiv: '2112.10752' },
    cite: 'Rombach et al. 2022',
  },
  {
    id: 'rombach-esser2022',
    authors: ['Rombach, R.', 'Esser, P.'],
    year: 2022,
    title: 'Stable Diffusion v1: README and Model Card',
    venue: 'CompVis/stable-diffusion repository on GitHub',
    publication: { kind: 'web', url: 'https://github.com/CompVis/stable-diffusion' },
    cite: 'Rombach and Esser 2022',
  },
  {
    id: 'ramesh2022',
    authors: ['Ramesh, A.', 'Dhariwal, P.', 'Nichol, A.', 'Chu, C.', 'Chen, M.'],
    year: 2022,
    title: 'Hierarchical Text-Conditional Image Generation with CLIP Latents',
    venue: 'arXiv preprint',
    publication: { kind: 'arxiv', arxiv: '2204.06125' },
    cite: 'Ramesh et al. 2022',
  },
  {
    id: 'mishkin2022',
    authors: ['Mishkin, P.', 'Ahmad, L.', 'Brundage, M.', 'Krueger, G.', 'Sastry, G.'],
    year: 2022,
    title: 'DALL·E 2 Preview: Risks and Limitations',
    venue: 'System card, openai/dalle-2-preview repository on GitHub',
    publication: { kind: 'web', url: 'https://github.com/openai/dalle-2-preview/blob/main/system-card.md' },
    cite: 'Mishkin et al. 2022',
  },
  {
    id: 'saharia2022',
    authors: [
      'Saharia, C.',
      'Chan, W.',
      'Saxena, S.',
      'Li, L.',
      'Whang, J.',
      'Denton, E.',
      'Ghasemipour, S. K. S.',
      'Karagol Ayan, B.',
      'Mahdavi, S. S.',
      'Gontijo Lopes, R.',
      'Salimans, T.',
      'Ho, J.',
      'Fleet, D. J.',
      'Norouzi, M.',
    ],
    year: 2022,
    title: 'Photorealistic Text-to-Image Diffusion Models with Deep Language Understanding',
    venue: 'Advances in Neural Information Processing Systems 35 (NeurIPS)',
    publication: { kind: 'arxiv', arxiv: '2205.11487' },
    cite: 'Saharia et al. 2022',
  },
  {
    id: 'yu2022',
    authors: [
      'Yu, J.',
      'Xu, Y.',
      'Koh, J. Y.',
      'Luong, T.',
      'Baid, G.',
      'Wang, Z.',
      'Vasudevan, V.',
      'Ku, A.',
      'Yang, Y.',
      'Karagol Ayan, B.',
      'Hutchinson, B.',
      'Han, W.',
      'Parekh, Z.',
      'Li, X.',
      'Zhang, H.',
      'Baldridge, J.',
      'Wu, Y.',
    ],
    year: 2022,
    title: 'Scaling Autoregressive Models for Content-Rich Text-to-Image Generation',
    venue: 'Transactions on Machine Learning Research (TMLR)',
    publication: { kind: 'arxiv', arxiv: '2206.10789' },
    cite: 'Yu et al. 2022',
  },
  {
    id: 'song2023',
    authors: ['Song, Y.', 'Dhariwal, P.', 'Chen, M.', 'Sutskever, I.'],
    year: 2023,
    title: 'Consistency Models',
    venue: 'Proceedings of the 40th International Conference on Machine Learning (ICML)',
    publication: { kind: 'arxiv', arxiv: '2303.01469' },
    cite: 'Song et al. 2023',
  },
  {
    id: 'betker2023',
    authors: [
      'Betker, J.',
      'Goh, G.',
      'Jing, L.',
      'Brooks, T.',
      'Wang, J.',
      'Li, L.',
      'Ouyang, L.',
      'Zhuang, J.',
      'Lee, J.',
      'Guo, Y.',
      'Manassra, W.',
      'Dhariwal, P.',
      'Chu, C.',
      'Jiao, Y.',
      'Ramesh, A.',
    ],
    year: 2023,
    title: 'Improving Image Generation with Better Captions',
    venue: 'OpenAI technical report (the DALL·E 3 paper)',
    publication: { kind: 'web', url: 'https://cdn.openai.com/papers/dall-e-3.pdf' },
    cite: 'Betker et al. 2023',
  },
] as const satisfies readonly BibliographyEntry[];

/** Anchor id of an entry, as a type: a misspelt id in TypeScript fails to compile. */
export type BibliographyId = (typeof bibliography)[number]['id'];

const entriesById: ReadonlyMap<string, BibliographyEntry> = new Map(bibliography.map((entry) => [entry.id, entry]));

/** Returns the entry with anchor `id`. Throws when no entry has that id, naming the id. */
export function bibliographyEntry(id: string): BibliographyEntry {
  const entry = entriesById.get(id);
  if (!entry) {
    throw new Error(`Bibliography entry "${id}" not found: add it to src/data/bibliography.ts or fix the id.`);
  }
  return entry;
}

/** URL of the work itself: its arXiv abstract page, its DOI resolver page or its web address. */
export function publicationUrl(publication: Publication): string {
  switch (publication.kind) {
    case 'arxiv':
      return `https://arxiv.org/abs/${publication.arxiv}`;
    case 'doi':
      return `https://doi.org/${publication.doi}`;
    case 'web':
      return publication.url;
  }
}

/** Link text for the work's URL: "arXiv:2102.12092", "doi:10.1109/5.726791" or the host name. */
export function publicationLabel(publication: Publication): string {
  switch (publication.kind) {
    case 'arxiv':
      return `arXiv:${publication.arxiv}`;
    case 'doi':
      return `doi:${publication.doi}`;
    case 'web':
      return new URL(publication.url).host;
  }
}

/**
 * Formats the author list as the bibliography page prints it: "A", "A and B", or
 * "A, B, and C" (every author listed, none elided).
 */
export function formatAuthors(authors: readonly string[]): string {
  if (authors.length <= 1) return authors.join('');
  if (authors.length === 2) return `${authors[0]} and ${authors[1]}`;
  return `${authors.slice(0, -1).join(', ')}, and ${authors[authors.length - 1]}`;
}

/** Path of an entry's anchor below the site's base URL, e.g. "guide/bibliography/#ramesh2021". */
export function bibliographyPath(id: string): string {
  return `guide/bibliography/#${bibliographyEntry(id).id}`;
}
