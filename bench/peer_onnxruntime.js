// Peer benchmark: ONNX Runtime (onnxruntime-node, CPU) on the same model, batch and threads
// as `lqface bench`. Prints one JSON line like lqface's (median over repeated runs after a
// warm-up, images/s, peak RSS of the whole process).
// Usage: node bench/peer_onnxruntime.js MODEL.onnx BATCH THREADS SECONDS [HxW input size]
const path = require('path');
const ort = require(path.join(__dirname, '..', 'tools', 'node_modules', 'onnxruntime-node'));

async function main() {
  const [model, batchS, threadsS, secondsS, sizeS] = process.argv.slice(2);
  const batch = parseInt(batchS || '32'), threads = parseInt(threadsS || '2');
  const seconds = parseFloat(secondsS || '5');
  const [h, w] = (sizeS || '112x112').split('x').map(Number);
  const sess = await ort.InferenceSession.create(model, {
    intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const n = batch * 3 * h * w;
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = 0.9 * Math.sin(0.001 * i);
  const feeds = {};
  feeds[sess.inputNames[0]] = new ort.Tensor('float32', data, [batch, 3, h, w]);
  for (let k = 0; k < 3; k++) await sess.run(feeds);
  const times = [];
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end || times.length < 5) {
    const t = performance.now();
    await sess.run(feeds);
    times.push((performance.now() - t) / 1000);
  }
  times.sort((a, b) => a - b);
  const med = times.length % 2 ? times[(times.length - 1) / 2]
                               : 0.5 * (times[times.length / 2 - 1] + times[times.length / 2]);
  const rss = process.resourceUsage().maxRSS / 1024;
  console.log(JSON.stringify({peer: 'onnxruntime', version: ort.env.versions ? ort.env.versions.common : '',
    model, batch, threads, runs: times.length, median_ms: +(med * 1e3).toFixed(3),
    images_per_s: +(batch / med).toFixed(1), peak_rss_mb: +rss.toFixed(1)}));
}
main().catch((e) => { console.error(e); process.exit(1); });
