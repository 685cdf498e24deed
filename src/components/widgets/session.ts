/**
 * Opens the model session of one widget: a worker with a TensorFlow.js backend chosen,
 * ready for `load`. Each widget opens its own and disposes of it when it unmounts.
 */
import type { BackendInfo } from '../../models/runtime/protocol';
import type { ModelSession } from '../../models/runtime/client';

export interface WidgetSession {
  session: ModelSession;
  backend: BackendInfo;
}

/**
 * Starts a worker and waits for its backend (the page's `?backend=` override applies).
 * The runtime is imported here, not at the top of a component, because Astro renders
 * components on the server, where workers do not exist, and because it keeps the worker
 * code out of the page until a widget hydrates.
 */
export async function openWidgetSession(): Promise<WidgetSession> {
  const { createModelSession } = await import('../../models/runtime/client');
  const session = createModelSession();
  try {
    const backend = await session.ready;
    return { session, backend };
  } catch (error) {
    session.dispose();
    throw error;
  }
}
