-- Embedding cache per model identity: texts cached, vector size, runs that wrote them, last write.
SELECT model, any_value(dim) AS dim, count(*) AS texts, count(DISTINCT run_id) AS runs, max(created_at) AS last_written
FROM embeddings
GROUP BY model
ORDER BY model
