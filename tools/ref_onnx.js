#!/usr/bin/env node
// ref_onnx.js — ONNX Runtime reference outputs for the ONNX import parity test
// (tests/test_onnx.c). Reads the uint8 photos written by tools/make_onnx_inputs.py from
// tests/data/onnx/, builds each model's float NCHW input exactly as the C test does, runs
// the six shared models with onnxruntime-node and writes raw little-endian float32 outputs:
// It also runs the synthetic operator models of tools/make_onnx_ops.py (ops_*.onnx).
//   <case>.f32   every output of the model, in the model's output order, concatenated;
//                for the 640x640 models only every STRIDE-th element of each output
//                (keeps the dumps small; the test compares the same elements).
// Run from the repository root:  node tools/ref_onnx.js   (LQFACE_SHARED overrides ../shared)
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

const ROOT = path.resolve(__dirname, '..');
const SHARED = process.env.LQFACE_SHARED || path.resolve(ROOT, '..', 'shared');
const DATA = path.join(ROOT, 'tests', 'data', 'onnx');
const STRIDE = 5;

function readU8(name) { return new Uint8Array(fs.readFileSync(path.join(DATA, name))); }

// HWC uint8 images (count x h x w x 3) placed top-left in an H x W canvas of zeros → NCHW
// float, value = (pixel - mean[c]) * scale (scale 1/128 is exact).
function toNCHW(u8, count, h, w, H, W, mean, scale) {
  const out = new Float32Array(count * 3 * H * W);
  for (let n = 0; n < count; n++)
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < H; y++)
        for (let x = 0; x < W; x++) {
          const p = (y < h && x < w) ? u8[((n * h + y) * w + x) * 3 + c] : 0;
          out[((n * 3 + c) * H + y) * W + x] = (p - mean[c]) * scale;
        }
  return out;
}

async function run(model, input, dims, stride) {
  const file = model.startsWith('ops_') ? path.join(DATA, model) : path.join(SHARED, 'models', model);
  const sess = await ort.InferenceSession.create(file,
    { intraOpNumThreads: 1, graphOptimizationLevel: 'disabled' });
  const feeds = {};
  feeds[sess.inputNames[0]] = new ort.Tensor('float32', input, dims);
  const res = await sess.run(feeds);
  const parts = [];
  for (const name of sess.outputNames) {
    const d = res[name].data;
    if (stride > 1) {
      const k = new Float32Array(Math.ceil(d.length / stride));
      for (let i = 0; i < k.length; i++) k[i] = d[i * stride];
      parts.push(k);
    } else {
      parts.push(Float32Array.from(d));
    }
    console.log(`  ${model} ${name}: [${res[name].dims}] ${d.length} values`);
  }
  return parts;
}

function write(name, parts) {
  const n = parts.reduce((a, p) => a + p.length, 0);
  const all = new Float32Array(n);
  let o = 0;
  for (const p of parts) { all.set(p, o); o += p.length; }
  fs.writeFileSync(path.join(DATA, name), Buffer.from(all.buffer));
  console.log(`${name}: ${n} floats`);
}

async function main() {
  const m127 = [127.5, 127.5, 127.5], zero = [0, 0, 0];
  // MobileFaceNet: two faces (fixed batch 1 in the model) and the README golden input
  const faces = readU8('mfn_faces.u8');
  const parts = [];
  for (let k = 0; k < 2; k++) {
    const one = faces.subarray(k * 112 * 112 * 3, (k + 1) * 112 * 112 * 3);
    parts.push(...await run('mobilefacenet_fr512.onnx', toNCHW(one, 1, 112, 112, 112, 112, m127, 1 / 128),
      [1, 3, 112, 112], 1));
  }
  write('mfn_out.f32', parts);
  const sin = new Float32Array(3 * 112 * 112);
  for (let i = 0; i < sin.length; i++) sin[i] = Math.fround(0.9 * Math.sin(0.001 * i));
  write('mfn_sin_out.f32', await run('mobilefacenet_fr512.onnx', sin, [1, 3, 112, 112], 1));

  write('yunet320_out.f32', await run('yunet_n_320_320.onnx',
    toNCHW(readU8('yunet320.u8'), 1, 250, 250, 320, 320, zero, 1), [1, 3, 320, 320], 1));
  const grid = readU8('grid400.u8');
  write('yunet640_out.f32', await run('yunet_n_640_640.onnx',
    toNCHW(grid, 1, 400, 400, 640, 640, zero, 1), [1, 3, 640, 640], STRIDE));
  write('retina_out.f32', await run('retinaface_mnet025.onnx',
    toNCHW(grid, 1, 400, 400, 640, 640, [104, 117, 123], 1), [1, 3, 640, 640], STRIDE));

  write('pnet_out.f32', await run('mtcnn/pnet.onnx',
    toNCHW(readU8('pnet.u8'), 1, 125, 100, 125, 100, m127, 1 / 128), [1, 3, 125, 100], 1));
  write('rnet_out.f32', await run('mtcnn/rnet.onnx',
    toNCHW(readU8('rnet.u8'), 4, 24, 24, 24, 24, m127, 1 / 128), [4, 3, 24, 24], 1));
  write('onet_out.f32', await run('mtcnn/onet.onnx',
    toNCHW(readU8('onet.u8'), 4, 48, 48, 48, 48, m127, 1 / 128), [4, 3, 48, 48], 1));

  // synthetic operator models from tools/make_onnx_ops.py (random float32 input, batch 2)
  const ops = { convbn: [2, 3, 16, 12], dense: [2, 3, 8, 8], layout: [2, 4, 6, 6], misc: [2, 3, 10, 10] };
  for (const [name, dims] of Object.entries(ops)) {
    const buf = fs.readFileSync(path.join(DATA, `ops_${name}_in.f32`));
    const x = new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4);
    write(`ops_${name}_out.f32`, await run(`ops_${name}.onnx`, Float32Array.from(x), dims, 1));
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
