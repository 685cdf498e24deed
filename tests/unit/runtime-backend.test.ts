/** Backend ranking (pure) and selection in Node, where only wasm and cpu can start. */
import { describe, expect, it } from 'vitest';
import * as tf from '../../src/models/tf';
import { describeChoice, rankBackends, selectBackend } from '../../src/models/runtime/backend';
import type { BackendProbe } from '../../src/models/runtime/protocol';

describe('rankBackends', () => {
  it('fastest working backend wins', () => {
    const probes: BackendProbe[] = [
      { name: 'webgpu', ok: true, probeMs: 20 },
      { name: 'webgl', ok: true, probeMs: 4 },
      { name: 'wasm', ok: true, probeMs: 11 },
    ];
    expect(rankBackends(probes)).toEqual(['webgl', 'wasm', 'webgpu']);
  });

  it('failed probes are left out', () => {
    const probes: BackendProbe[] = [
      { name: 'webgpu', ok: false, note: 'no adapter' },
      { name: 'webgl', ok: true, probeMs: 30 },
      { name: 'wasm', ok: false, note: '404' },
    ];
    expect(rankBackends(probes)).toEqual(['webgl']);
    expect(rankBackends([{ name: 'wasm', ok: false }])).toEqual([]);
  });

  it('software GPU ranks below wasm', () => {
    // Even a software renderer that wins the small probe loses to wasm at training batch sizes.
    const probes: BackendProbe[] = [
      { name: 'webgl', ok: true, probeMs: 8, software: true, renderer: 'Google SwiftShader' },
      { name: 'wasm', ok: true, probeMs: 11 },
    ];
    expect(rankBackends(probes)).toEqual(['wasm', 'webgl']);
  });

  it('software GPU still beats cpu', () => {
    const probes: BackendProbe[] = [
      { name: 'webgl', ok: true, probeMs: 45, software: true },
      { name: 'wasm', ok: false },
      { name: 'cpu', ok: true, probeMs: 900 },
    ];
    expect(rankBackends(probes)).toEqual(['webgl', 'cpu']);
  });

  it('cpu is a last resort', () => {
    const probes: BackendProbe[] = [
      { name: 'cpu', ok: true, probeMs: 1 },
      { name: 'wasm', ok: true, probeMs: 11 },
    ];
    expect(rankBackends(probes)).toEqual(['wasm', 'cpu']);
  });

  it('near ties go to the preference order', () => {
    const probes: BackendProbe[] = [
      { name: 'wasm', ok: true, probeMs: 10 },
      { name: 'webgl', ok: true, probeMs: 10.8 },
      { name: 'webgpu', ok: true, probeMs: 10.5 },
    ];
    expect(rankBackends(probes)).toEqual(['webgpu', 'webgl', 'wasm']);
  });

  it('untimed probes follow timed ones', () => {
    const probes: BackendProbe[] = [
      { name: 'webgpu', ok: true },
      { name: 'wasm', ok: true, probeMs: 11 },
    ];
    expect(rankBackends(probes)).toEqual(['wasm', 'webgpu']);
  });
});

describe('describeChoice', () => {
  it('first preference needs no note', () => {
    expect(describeChoice([{ name: 'webgpu', ok: true, probeMs: 3 }], 'webgpu')).toBeUndefined();
  });

  it('failed override names the reason', () => {
    const probes: BackendProbe[] = [{ name: 'webgpu', ok: false, note: 'the browser offers no WebGPU adapter' }];
    expect(describeChoice(probes, 'wasm', 'webgpu')).toBe('webgpu failed to start (the browser offers no WebGPU adapter); using wasm');
  });

  it('honoured override needs no note', () => {
    expect(describeChoice([{ name: 'cpu', ok: true }], 'cpu', 'cpu')).toBeUndefined();
  });

  it('fallback explains each skipped backend', () => {
    const probes: BackendProbe[] = [
      { name: 'webgpu', ok: false, note: 'WebGPU is not available in this browser' },
      { name: 'webgl', ok: true, probeMs: 45, software: true, renderer: 'SwiftShader' },
      { name: 'wasm', ok: true, probeMs: 11 },
    ];
    expect(describeChoice(probes, 'wasm')).toBe(
      'webgpu failed to start (WebGPU is not available in this browser); webgl runs on a software renderer (SwiftShader); using wasm',
    );
  });

  it('skipped software GPU is named as software', () => {
    const probes: BackendProbe[] = [
      { name: 'webgl', ok: false, note: 'not started: it is a software renderer, slower than wasm', software: true, renderer: 'llvmpipe' },
      { name: 'wasm', ok: true, probeMs: 11 },
    ];
    expect(describeChoice(probes, 'wasm')).toBe('webgl runs on a software renderer (llvmpipe); using wasm');
  });

  it('slower GPU gives both times', () => {
    const probes: BackendProbe[] = [
      { name: 'webgl', ok: true, probeMs: 30 },
      { name: 'wasm', ok: true, probeMs: 11 },
    ];
    expect(describeChoice(probes, 'wasm')).toBe('webgl took 30.0 ms per probe step against 11.0 ms; using wasm');
  });
});

describe('selectBackend in Node', () => {
  it('picks wasm and says why the GPUs failed', async () => {
    const { info, health } = await selectBackend();
    expect(info.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(info.probes.map((probe) => [probe.name, probe.ok])).toEqual([
      ['webgpu', false],
      ['webgl', false],
      ['wasm', true],
    ]);
    expect(info.probes[2].probeMs).toBeGreaterThan(0);
    expect(info.note).toContain('webgpu failed to start (WebGPU is not available in this browser)');
    expect(info.note).toMatch(/; using wasm$/);
    expect(health.lostReason()).toBeNull();
  });

  it('failed override falls back with a note', async () => {
    const { info } = await selectBackend({ requested: 'webgpu' });
    expect(info.name).toBe('wasm');
    expect(info.requested).toBe('webgpu');
    expect(info.note).toBe('webgpu failed to start (WebGPU is not available in this browser); using wasm');
  });

  it('earlier ranking skips the timing probe', async () => {
    const earlier: BackendProbe[] = [
      { name: 'webgl', ok: true, probeMs: 4 },
      { name: 'wasm', ok: true, probeMs: 11 },
    ];
    const { info } = await selectBackend({ earlierProbes: earlier });
    expect(info.name).toBe('wasm');
    const wasm = info.probes.find((probe) => probe.name === 'wasm')!;
    expect(wasm.probeMs).toBe(11);
    expect(info.probes.find((probe) => probe.name === 'webgl')?.ok).toBe(false);
  });

  it('override cpu is honoured', async () => {
    const { info } = await selectBackend({ requested: 'cpu' });
    expect(info.name).toBe('cpu');
    expect(info.note).toBeUndefined();
    expect(info.probes).toStrictEqual([{ name: 'cpu', ok: true }]);
    expect(tf.memory().numTensors).toBe(0);
  });

  it('no working candidate is a backend failure', async () => {
    const error = await selectBackend({ candidates: ['webgpu', 'webgl'] }).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(error?.name).toBe('ModelWorkerError:backend');
    expect(error?.message).toContain('No TensorFlow.js backend could start');
    expect(error?.message).toContain('webgl: WebGL in a worker needs OffscreenCanvas');
  });
});
