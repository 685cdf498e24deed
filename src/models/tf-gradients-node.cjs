// Node only: tfjs-core's CommonJS bundle registers no gradients, and its ES-module
// gradient files cannot load in Node (extensionless imports). The union package's
// CommonJS bundle registers every gradient on the same tfjs-core instance.
require('@tensorflow/tfjs');
