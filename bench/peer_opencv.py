#!/usr/bin/env python3
"""Peer benchmark: OpenCV cv2.dnn (Debian python3-opencv 4.6, CPU) on the same model,
batch and threads as `lqface bench`. Prints one JSON line (median over repeated runs after
a warm-up, images/s, peak RSS of the whole process).
Usage: /usr/bin/python3 bench/peer_opencv.py MODEL.onnx BATCH THREADS SECONDS [HxW]"""
import json
import resource
import sys
import time

import cv2
import numpy as np

model = sys.argv[1]
batch = int(sys.argv[2]) if len(sys.argv) > 2 else 32
threads = int(sys.argv[3]) if len(sys.argv) > 3 else 2
seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 5.0
h, w = map(int, (sys.argv[5] if len(sys.argv) > 5 else "112x112").split("x"))
cv2.setNumThreads(threads)
net = cv2.dnn.readNetFromONNX(model)
net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
x = (0.9 * np.sin(0.001 * np.arange(batch * 3 * h * w))).astype(np.float32).reshape(batch, 3, h, w)
for _ in range(3):
    net.setInput(x)
    net.forward(net.getUnconnectedOutLayersNames())
times = []
end = time.perf_counter() + seconds
while time.perf_counter() < end or len(times) < 5:
    t = time.perf_counter()
    net.setInput(x)
    net.forward(net.getUnconnectedOutLayersNames())
    times.append(time.perf_counter() - t)
med = float(np.median(times))
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"peer": "opencv", "version": cv2.__version__, "model": model, "batch": batch,
                  "threads": threads, "runs": len(times), "median_ms": round(med * 1e3, 3),
                  "images_per_s": round(batch / med, 1), "peak_rss_mb": round(rss, 1)}))
