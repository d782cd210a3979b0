-- A scripted sqlite3 workload for `hakfuzz run`: a 4 MiB page cache, rows
-- with blobs of 1-17 KiB (overflow pages, mid-size buffers), an index
-- build, aggregate queries, updates that grow rows, and deletes.
PRAGMA cache_size = -4096;
PRAGMA page_size = 4096;
CREATE TABLE t(id INTEGER PRIMARY KEY, k TEXT, v BLOB);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
INSERT INTO t SELECT i, printf('key-%08d', (i * 7919) % 3000), zeroblob(1024 + (i * 104729) % 16000) FROM n;
CREATE INDEX t_k ON t(k);
SELECT count(*), sum(length(v)) FROM t;
UPDATE t SET v = v || zeroblob(3000) WHERE id % 3 = 0;
SELECT k, length(v) FROM t ORDER BY k DESC LIMIT 3;
DELETE FROM t WHERE id % 2 = 0;
SELECT count(*), max(length(v)) FROM t GROUP BY id % 5 ORDER BY 1 LIMIT 2;
VACUUM;
SELECT count(*) FROM t;
