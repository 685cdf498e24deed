/**
 * The one place models import tfjs from. tfjs-core alone registers no gradients, so this
 * module registers them all before any model code runs. `#tfjs-gradients` (package.json
 * "imports") picks tfjs-core's ES-module registration in bundles and the union package's
 * CommonJS bundle in Node, so both use a single tfjs-core instance.
 */
import '#tfjs-gradients';

export * from '@tensorflow/tfjs-core';
