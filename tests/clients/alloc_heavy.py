# An allocation-heavy Python workload for `hakfuzz run`: objects above
# Python's own small-object allocator (512 B) come from malloc, so lists,
# dicts, bytes and strings of a few KiB land on the pool; threads free what
# other threads made; json and re do their own buffer growth (realloc).
import json
import re
import threading

def churn(seed, out):
    blobs = []
    for i in range(4000):
        n = 1024 + (seed * 7919 + i * 104729) % 60000
        blobs.append(bytes([i & 0xFF]) * n)
        if len(blobs) > 64:
            blobs.pop(0)
    table = {f"key-{seed}-{i}": list(range(i % 700)) for i in range(3000)}
    out.append((blobs, table))

results = []
threads = [threading.Thread(target=churn, args=(s, results)) for s in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
text = json.dumps([{"id": i, "payload": "x" * (i % 5000)} for i in range(3000)])
back = json.loads(text)
words = re.findall(r"[a-z]+", text * 3)
del results  # freed by the main thread: the workers' blocks, remote frees
assert len(back) == 3000 and words
print("python: ok", len(text), len(words))
