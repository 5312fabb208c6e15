package io.evocompress;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

class ExecutorCacheTest {
    private final List<String> closed = new ArrayList<>();

    private AutoCloseable value(String name) {
        return () -> closed.add(name);
    }

    @AfterEach
    void clear() {
        ExecutorCache.clear("test-a");
        ExecutorCache.clear("test-b");
    }

    @Test
    void aKindKeepsItsBoundEvictingAndClosingTheLeastRecentlyUsed() {
        AtomicInteger created = new AtomicInteger();
        Object one = ExecutorCache.get("test-a", "1", 2, () -> { created.incrementAndGet(); return value("1"); });
        ExecutorCache.get("test-a", "2", 2, () -> { created.incrementAndGet(); return value("2"); });
        assertSame(one, ExecutorCache.get("test-a", "1", 2, () -> value("again")), "a hit returns the cached value");
        ExecutorCache.get("test-a", "3", 2, () -> { created.incrementAndGet(); return value("3"); });
        assertEquals(3, created.get());
        assertEquals(List.of("2"), closed, "2 was the least recently used when 3 came");
        assertEquals(2, ExecutorCache.size("test-a"));
    }

    @Test
    void clearClosesAKindsEntriesAndLeavesTheOthers() {
        ExecutorCache.get("test-a", "1", ExecutorCache.UNBOUNDED, () -> value("a1"));
        ExecutorCache.get("test-a", "2", ExecutorCache.UNBOUNDED, () -> value("a2"));
        ExecutorCache.get("test-b", "1", ExecutorCache.UNBOUNDED, () -> value("b1"));
        ExecutorCache.clear("test-a");
        assertEquals(List.of("a2", "a1"), closed, "newest first");
        assertEquals(0, ExecutorCache.size("test-a"));
        assertEquals(1, ExecutorCache.size("test-b"));
        ExecutorCache.get("test-a", "1", ExecutorCache.UNBOUNDED, () -> value("a1 reloaded"));
        ExecutorCache.clear();
        assertEquals(List.of("a2", "a1", "b1", "a1 reloaded"), closed, "clear() closes test-b (created later) before test-a");
    }

    @Test
    void aRegisteredPoolIsClearedWithTheOthers() {
        AtomicInteger cleared = new AtomicInteger();
        ExecutorCache.register("test-pool", cleared::incrementAndGet);
        ExecutorCache.clear();
        assertEquals(1, cleared.get());
        ExecutorCache.clear("test-pool");
        assertEquals(2, cleared.get());
    }
}
