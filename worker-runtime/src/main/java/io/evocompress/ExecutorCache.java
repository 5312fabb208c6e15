package io.evocompress;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The one per-JVM holder of what an executor keeps between tasks, so consecutive tasks reuse it: the
 * dense models ({@code models}: one per location, device and dtype; read-only and shared by concurrent
 * tasks, so never evicted), the opened variant databases ({@code variant-sources}, one per location),
 * the device-side variant arrays ({@code variant-arrays}: one cache per byte bound, LRU within its
 * bound), the teacher outputs ({@code teacher-outputs}: the 2 most recently used), the stitched candidate
 * models lent to tasks ({@code candidate-models}, a pool registered here), DarwinLM's per-JVM workers
 * ({@code darwin-workers}) and the streamed path's host copies of block weights ({@code host-weights}: one
 * cache bounded in bytes, LRU within it).
 *
 * <p>Each kind holds at most its bound of entries, the least recently used evicted first; a value that
 * is {@link AutoCloseable} is closed when evicted or cleared. Each kind has its own lock, held while an
 * entry is created (concurrent tasks wait for one load rather than loading twice), so a slow load of one
 * kind does not stall the others. {@link #clear()} closes every kind, the most recently created kind
 * first (candidates before the variants and models they were stitched from); it runs once when the JVM
 * exits. Tests that rewrite a database in place clear the kinds they depend on.
 */
public final class ExecutorCache {
    /** A kind without a bound on its entries. */
    public static final int UNBOUNDED = Integer.MAX_VALUE;

    private static final Map<String, Kind> KINDS = new LinkedHashMap<>();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(ExecutorCache::clear, "evocompress-executor-cache"));
    }

    /** One kind's entries (LRU order), or the clear action of a registered structure. */
    private static final class Kind {
        final LinkedHashMap<String, Object> entries = new LinkedHashMap<>(8, 0.75f, true);
        final Runnable registered;

        Kind(Runnable registered) {
            this.registered = registered;
        }

        synchronized void clear() {
            if (registered != null) {
                registered.run();
                return;
            }
            List<Object> values = new ArrayList<>(entries.values());
            entries.clear();
            Collections.reverse(values);
            values.forEach(ExecutorCache::close);
        }
    }

    private ExecutorCache() {
    }

    private static synchronized Kind kind(String name, Runnable registered) {
        return KINDS.computeIfAbsent(name, k -> new Kind(registered));
    }

    /**
     * The value cached under {@code kind}/{@code key}, created by {@code create} on a miss; the kind's
     * least recently used entries beyond {@code maxEntries} are evicted (and closed).
     */
    @SuppressWarnings("unchecked")
    public static <V> V get(String kind, String key, int maxEntries, Supplier<V> create) {
        Kind k = kind(kind, null);
        synchronized (k) {
            Object v = k.entries.get(key);
            if (v == null) {
                v = create.get();
                k.entries.put(key, v);
                while (k.entries.size() > maxEntries) {
                    String eldest = k.entries.keySet().iterator().next();
                    close(k.entries.remove(eldest));
                }
            }
            return (V) v;
        }
    }

    /**
     * Registers a kind whose structure the holder does not see (a pool of lent objects), cleared with
     * the others by {@code clear}.
     */
    public static void register(String kind, Runnable clear) {
        kind(kind, clear);
    }

    /** Closes and forgets every kind's entries, the most recently created kind first. */
    public static void clear() {
        List<Kind> kinds;
        synchronized (ExecutorCache.class) {
            kinds = new ArrayList<>(KINDS.values());
        }
        Collections.reverse(kinds);
        kinds.forEach(Kind::clear);
    }

    /** Closes and forgets one kind's entries. */
    public static void clear(String kind) {
        Kind k;
        synchronized (ExecutorCache.class) {
            k = KINDS.get(kind);
        }
        if (k != null) {
            k.clear();
        }
    }

    /** Entries a kind holds now (0 for a registered pool). */
    public static int size(String kind) {
        Kind k;
        synchronized (ExecutorCache.class) {
            k = KINDS.get(kind);
        }
        if (k == null) {
            return 0;
        }
        synchronized (k) {
            return k.entries.size();
        }
    }

    private static void close(Object value) {
        if (value instanceof AutoCloseable c) {
            try {
                c.close();
            } catch (Exception ignored) {
                // already closed, or the engine is shutting down
            }
        }
    }
}
