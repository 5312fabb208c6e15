package io.evocompress.model;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Checkpoint tensors in float32 on the Java heap, least recently used first out, bounded in bytes: what a
 * block-streamed forward ({@link StreamedLm}) reads a block's weights through, so that consecutive uses in
 * one JVM (the next wave, the next task, the next stage on the same executor) reuse what is still there
 * instead of reading the file again. A tensor larger than the whole budget is returned without being
 * kept. Values handed out are shared: callers copy them (to the device) and never write them.
 *
 * <p>One cache per JVM ({@link #shared}), sized by the system property {@value #BUDGET_PROPERTY} (bytes,
 * or with a k/m/g suffix; on Spark executors set it in {@code spark.executor.extraJavaOptions}),
 * default {@link #defaultBudget}: an eighth of the maximum Java heap.
 */
public final class HostWeightCache {
    public static final String BUDGET_PROPERTY = "evocompress.host-cache";

    private final long budget;
    private final LinkedHashMap<String, float[]> entries = new LinkedHashMap<>(16, 0.75f, true);
    private long bytes;
    private long peakBytes;
    private long hits;
    private long misses;

    public HostWeightCache(long budgetBytes) {
        if (budgetBytes < 0) {
            throw new IllegalArgumentException("host cache budget must be at least 0 bytes, but was " + budgetBytes);
        }
        this.budget = budgetBytes;
    }

    /**
     * The JVM's cache, sized on first use from {@value #BUDGET_PROPERTY} or {@link #defaultBudget}; held
     * in the {@link io.evocompress.ExecutorCache} (kind {@code host-weights}).
     */
    public static HostWeightCache shared() {
        return io.evocompress.ExecutorCache.get("host-weights", "shared", 1, () -> {
            String spec = System.getProperty(BUDGET_PROPERTY);
            return new HostWeightCache(spec == null || spec.isBlank() ? defaultBudget()
                : io.evocompress.device.ByteSize.parse(spec, "-D" + BUDGET_PROPERTY));
        });
    }

    /** An eighth of the maximum Java heap. */
    public static long defaultBudget() {
        return Runtime.getRuntime().maxMemory() / 8;
    }

    /** The cached values under {@code key}, or {@code load}'s (kept when they fit the budget). */
    public float[] get(String key, Supplier<float[]> load) {
        synchronized (this) {
            float[] hit = entries.get(key);
            if (hit != null) {
                hits++;
                return hit;
            }
            misses++;
        }
        float[] values = load.get();   // read outside the lock: other tasks' hits do not wait for this read
        long size = 4L * values.length;
        synchronized (this) {
            if (size > budget || entries.containsKey(key)) {
                return values;
            }
            Iterator<Map.Entry<String, float[]>> oldest = entries.entrySet().iterator();
            while (bytes + size > budget && oldest.hasNext()) {
                bytes -= 4L * oldest.next().getValue().length;
                oldest.remove();
            }
            entries.put(key, values);
            bytes += size;
            peakBytes = Math.max(peakBytes, bytes);
            return values;
        }
    }

    public long budget() {
        return budget;
    }

    public synchronized long bytes() {
        return bytes;
    }

    /** The most bytes held at once since this cache was made. */
    public synchronized long peakBytes() {
        return peakBytes;
    }

    public synchronized long hits() {
        return hits;
    }

    public synchronized long misses() {
        return misses;
    }

    /** Forgets every tensor. */
    public synchronized void clear() {
        entries.clear();
        bytes = 0;
    }
}
