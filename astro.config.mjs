// @ts-check
import starlight from '@astrojs/starlight';
import svelte from '@astrojs/svelte';
import { defineConfig } from 'astro/config';

import katexMath from './src/integrations/katex-math.mjs';
import tfjsWasmAssets from './src/integrations/tfjs-wasm-assets.mjs';

/**
 * Normalises the `BASE_PATH` environment variable to the form Astro expects for `base`:
 * a leading and a trailing slash ("course" and "/course" both become "/course/").
 * Unset or empty means the site lives at the domain root ("/").
 * With the trailing slash, `import.meta.env.BASE_URL` also ends in "/", so runtime code can
 * append a path to it directly (for example `${import.meta.env.BASE_URL}tfjs-wasm/`).
 * @param {string | undefined} value
 * @returns {string}
 */
function basePathFromEnv(value) {
  const segments = (value ?? '').split('/').filter(Boolean);
  if (segments.length === 0) return '/';
  return `/${segments.join('/')}/`;
}

const base = basePathFromEnv(process.env.BASE_PATH);

// Absolute URL of the deployed site, used for canonical links and the sitemap. It is
// optional. Without it, Starlight builds no sitemap and every link stays root-relative.
const site = process.env.SITE_URL || undefined;

export default defineConfig({
  site,
  base,
  integrations: [
    starlight({
      title: 'The Universe of DALL·E',
      description:
        'An interactive course on DALL·E, CLIP, unCLIP and DALL·E 3, with miniature models that sample and train on MNIST in your browser.',
      favicon: '/favicon.svg',
      customCss: ['katex/dist/katex.min.css', './src/styles/katex.css', './src/styles/search.css'],
      sidebar: [
        {
          label: 'Start here',
          items: [{ slug: 'index', label: 'Overview' }],
        },
        {
          label: 'Chapters',
          items: [{ slug: 'chapters/images-as-tokens' }, { slug: 'chapters/clip' }, { slug: 'chapters/dalle' }, { slug: 'chapters/diffusion' }, { slug: 'chapters/unclip' }, { slug: 'chapters/better-captions' }, { slug: 'chapters/evaluation' }],
        },
        {
          label: 'Guide',
          items: [{ slug: 'guide/overview' }, { slug: 'guide/architectures' }, { slug: 'guide/datasets' }, { slug: 'guide/insights' }, { slug: 'guide/glossary' }, { slug: 'guide/bibliography' }],
        },
        {
          label: 'For instructors',
          items: [{ slug: 'instructors/hosting' }, { slug: 'instructors/authoring' }],
        },
        {
          label: 'About',
          items: [{ slug: 'about/credits' }],
        },
      ],
    }),
    svelte(),
    katexMath(),
    tfjsWasmAssets(),
  ],
  server: {
    host: '127.0.0.1',
    // Only `astro dev` and `astro preview` send these. A static host sends its own headers.
    // NOTE: no COOP/COEP headers on purpose. tfjs 4.22's threaded wasm build failed to start
    // its pthread workers from this project's bundled module worker ("ReferenceError: e is not
    // defined"), so src/models/runtime/backend.ts forces the single-threaded SIMD build, and
    // isolation would change nothing.
    headers: {
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
    },
  },
  vite: {
    // Module workers (`new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' })`)
    // import tfjs and comlink and may code-split. Only the ES format supports that in a build.
    worker: { format: 'es' },
    optimizeDeps: {
      // Pre-bundle what the model worker and the widgets import when `astro dev` starts.
      // Vite finds a worker's imports only once the worker loads. Discovering them that late
      // makes Vite re-bundle and reload the page, and requests still in flight fail with
      // "504 Outdated Optimize Dep". tfjs-backend-wasm must stay pre-bundled, not excluded,
      // because it imports CommonJS glue code that only pre-bundling converts to ES modules.
      include: [
        // tfjs-core's own CommonJS dependencies, converted to ES modules.
        '@tensorflow/tfjs-core > long',
        '@tensorflow/tfjs-core > seedrandom',
        '@tensorflow/tfjs-backend-cpu',
        '@tensorflow/tfjs-backend-webgl',
        '@tensorflow/tfjs-backend-webgpu',
        '@tensorflow/tfjs-backend-wasm',
        'comlink',
        'd3',
      ],
      // tfjs-core is served as the ES modules it ships. Pre-bundled, it and the gradient
      // registration that src/models/tf.ts imports first came out as two copies of its
      // environment, and the worker failed with "Cannot evaluate flag 'DEBUG'".
      exclude: ['@tensorflow/tfjs-core'],
    },
  },
});
