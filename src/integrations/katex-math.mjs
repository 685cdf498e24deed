// @ts-check
import { fileURLToPath } from 'node:url';

import rehypeKatex from 'rehype-katex';

/**
 * @typedef {import('hast').Element} Element
 * @typedef {import('hast').ElementContent} ElementContent
 * @typedef {import('hast').Root} Root
 */

/**
 * The part of Sätteri's hast visitor context that this plugin uses
 * (`HastVisitorContext` in the satteri package, a dependency of Astro 7).
 * @typedef {object} HastVisitorContext
 * @property {URL | undefined} fileURL URL of the Markdown or MDX file being compiled.
 * @property {(node: Element) => string} textContent Concatenated text of a node's descendants.
 * @property {(node: Element, replacement: ElementContent[]) => void} replaceNode
 */

/**
 * The options of Astro's default `satteri()` Markdown processor that this integration changes.
 * @typedef {object} SatteriOptions
 * @property {Record<string, unknown>} features
 * @property {unknown[]} hastPlugins
 */

const renderWithRehypeKatex = rehypeKatex();

/**
 * Renders one TeX expression to KaTeX's hast. Invalid TeX fails the build.
 * @param {string} tex
 * @param {boolean} displayMode
 * @param {URL | undefined} fileURL
 * @returns {ElementContent[]}
 */
function renderTex(tex, displayMode, fileURL) {
  /** @type {Root} */
  const root = {
    type: 'root',
    children: [
      {
        type: 'element',
        tagName: 'code',
        properties: { className: ['language-math', displayMode ? 'math-display' : 'math-inline'] },
        children: [{ type: 'text', value: tex }],
      },
    ],
  };

  // rehype-katex reports a KaTeX error through `file.message` and then renders the TeX in
  // red. Throwing here stops the build on the broken expression instead.
  const file = {
    /** @param {string} reason @param {{ cause?: unknown }} [details] */
    message(reason, details = {}) {
      const where = fileURL ? fileURLToPath(fileURL) : 'unknown file';
      const cause = details.cause instanceof Error ? details.cause.message : String(details.cause);
      throw new Error(`${reason} in ${where}: ${cause}. TeX source: ${tex}`);
    },
  };
  // rehype-katex uses nothing of the VFile but `message`.
  renderWithRehypeKatex(root, /** @type {import('vfile').VFile} */ (/** @type {unknown} */ (file)));

  const children = /** @type {ElementContent[]} */ (root.children);
  children.forEach(hideDuplicatesFromSearch);
  return children;
}

/**
 * KaTeX writes each formula three times: as MathML, as its TeX source (the `annotation`)
 * and as styled HTML. Search excerpts should read it once, so Pagefind skips the last two.
 * @param {ElementContent} node
 */
function hideDuplicatesFromSearch(node) {
  if (node.type !== 'element') return;
  if (node.tagName === 'annotation' || hasClass(node, 'katex-html')) {
    node.properties = { ...node.properties, dataPagefindIgnore: '' };
    return;
  }
  node.children.forEach(hideDuplicatesFromSearch);
}

/** @param {ElementContent} node @param {string} className */
function hasClass(node, className) {
  if (node.type !== 'element') return false;
  const classNames = node.properties?.className;
  return Array.isArray(classNames) && classNames.includes(className);
}

const katexHastPlugin = {
  name: 'katex-math',
  element: {
    filter: ['code', 'pre'],
    /** @param {Element} node @param {HastVisitorContext} ctx */
    visit(node, ctx) {
      const isInlineMath = node.tagName === 'code' && hasClass(node, 'math-inline');
      const isDisplayMath =
        node.tagName === 'pre' && node.children.some((child) => hasClass(child, 'math-display'));
      if (!isInlineMath && !isDisplayMath) return;

      const katexNodes = renderTex(ctx.textContent(node), isDisplayMath, ctx.fileURL);
      ctx.replaceNode(node, katexNodes);
    },
  },
};

/**
 * Renders TeX math with KaTeX at build time in Markdown and MDX pages.
 *
 * Astro 7's default Markdown processor, Sätteri, parses `$…$` and `$$…$$` itself once its
 * `math` feature is on, but it runs no remark or rehype plugins (`markdown.remarkPlugins`
 * needs the optional @astrojs/markdown-remark processor). Sätteri emits math the way
 * remark-math does (`code.math-inline`, `pre > code.math-display`), so this integration
 * adds a Sätteri hast plugin that hands each of those elements to rehype-katex and puts
 * KaTeX's hast in its place. Working on hast, not on Markdown text, keeps backslashes,
 * braces, `_` and `*` in the TeX source intact in both .md and .mdx files.
 * @returns {import('astro').AstroIntegration}
 */
export default function katexMath() {
  return {
    name: 'katex-math',
    hooks: {
      'astro:config:setup': ({ config }) => {
        const processor = config.markdown.processor;
        if (processor?.name !== 'satteri') {
          throw new Error(
            `katex-math expects the Sätteri Markdown processor but markdown.processor is "${processor?.name}": remove markdown.processor from astro.config.mjs or render math with that processor's own plugins.`,
          );
        }

        const options = /** @type {SatteriOptions} */ (processor.options);
        options.features.math = true;
        // Runs first, so that syntax highlighting never receives the math blocks.
        options.hastPlugins.unshift(katexHastPlugin);
      },
    },
  };
}
