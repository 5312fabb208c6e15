package io.evocompress.fitness;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.evocompress.EvocompressException;
import io.evocompress.database.LayerVariant;

import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Variant weights already on a device in the compute dtype, shared by the tasks of one JVM and bounded
 * in bytes (least recently used first out). Decoding a variant and moving it to the device is the
 * expensive part of stitching; a search reuses the same (layer, level) pairs over and over.
 *
 * <p>The cache never hands out its own arrays: {@link #copy} returns a device-side copy that the
 * caller owns (a model's weight moves into the model's manager), so an eviction can never free an
 * array a model is using. A variant larger than the whole bound is built for the caller uncached.
 */
public final class VariantArrayCache implements AutoCloseable {
    private final long maxBytes;
    private final Map<Device, NDManager> roots = new HashMap<>();
    private final LinkedHashMap<String, Entry> entries = new LinkedHashMap<>(16, 0.75f, true);
    private long bytes;
    private long hits;
    private long misses;

    private record Entry(NDManager manager, NDArray array, long bytes) {
    }

    public VariantArrayCache(long maxBytes) {
        this.maxBytes = maxBytes;
    }

    /** The JVM's cache with this bound (one per bound; executors use one), held in the {@link io.evocompress.ExecutorCache}. */
    public static VariantArrayCache shared(long maxBytes) {
        return io.evocompress.ExecutorCache.get("variant-arrays", Long.toString(maxBytes), io.evocompress.ExecutorCache.UNBOUNDED,
            () -> new VariantArrayCache(maxBytes));
    }

    /**
     * A copy, owned by {@code owner} (on the owner's device), of the variant's dense weights
     * [rows, cols] in {@code dtype}.
     *
     * @param sourceId names the source in the cache key (its database location)
     */
    public synchronized NDArray copy(String sourceId, VariantSource source, String layer, int level, DataType dtype,
                                     NDManager owner) {
        Device device = owner.getDevice();
        String key = sourceId + "|" + layer + "|" + level + "|" + device + "|" + dtype;
        Entry e = entries.get(key);
        if (e == null) {
            misses++;
            LayerVariant variant = source.variant(layer, level);
            if (variant == null) {
                throw new EvocompressException("The variant database " + sourceId + " has no variant of " + layer
                    + " at level " + level + ": the genome and the database disagree on the layers or levels.");
            }
            long size = (long) variant.rows() * variant.cols() * dtype.getNumOfBytes();
            if (size > maxBytes) {
                return build(owner, variant, dtype);
            }
            while (bytes + size > maxBytes && !entries.isEmpty()) {
                Iterator<Map.Entry<String, Entry>> eldest = entries.entrySet().iterator();
                Entry old = eldest.next().getValue();
                eldest.remove();
                old.manager.close();
                bytes -= old.bytes;
            }
            NDManager m = roots.computeIfAbsent(device, NDManager::newBaseManager).newSubManager();
            e = new Entry(m, build(m, variant, dtype), size);
            entries.put(key, e);
            bytes += size;
        } else {
            hits++;
        }
        NDArray copy = e.array.duplicate();
        copy.attach(owner);
        return copy;
    }

    private static NDArray build(NDManager manager, LayerVariant variant, DataType dtype) {
        NDArray fp32 = manager.create(variant.dense(), new Shape(variant.rows(), variant.cols()));
        if (dtype == DataType.FLOAT32) {
            return fp32;
        }
        NDArray converted = fp32.toType(dtype, false);
        fp32.close();
        return converted;
    }

    public synchronized long bytes() {
        return bytes;
    }

    public synchronized long hits() {
        return hits;
    }

    public synchronized long misses() {
        return misses;
    }

    @Override
    public synchronized void close() {
        entries.clear();
        roots.values().forEach(NDManager::close);
        roots.clear();
        bytes = 0;
    }
}
