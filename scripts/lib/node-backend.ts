/** Backend set-up for Node scripts: wasm (with the training kernels) or cpu. */
import * as tf from '../../src/models/tf';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '../../src/models/runtime/wasm-kernels';

export type NodeBackend = 'wasm' | 'cpu';

export async function useBackend(name: NodeBackend): Promise<string> {
  if (name === 'wasm') registerWasmTrainingKernels();
  const ok = await tf.setBackend(name);
  await tf.ready();
  if (!ok || tf.getBackend() !== name) {
    throw new Error(`Backend ${name} failed to start in Node (tfjs reports "${tf.getBackend()}").`);
  }
  return name;
}
