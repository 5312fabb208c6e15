package io.evocompress.model;

import io.evocompress.EvocompressException;
import io.evocompress.device.ByteSize;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The host weight cache's budget and eviction order, the byte sizes settings spell, and auto residency's rule. */
class HostWeightCacheTest {

    @Test
    void keepsTheMostRecentlyUsedTensorsWithinItsBudget() {
        HostWeightCache cache = new HostWeightCache(3 * 400);  // three 100-float tensors
        List<String> loads = new ArrayList<>();
        java.util.function.Function<String, float[]> get = key -> cache.get(key, () -> {
            loads.add(key);
            return new float[100];
        });
        float[] a = get.apply("a");
        get.apply("b");
        get.apply("c");
        assertSame(a, get.apply("a"));           // a hit, and now the most recent
        get.apply("d");                          // evicts b, the least recently used
        assertEquals(1200, cache.bytes());
        get.apply("b");                          // read again; evicts c
        get.apply("a");
        get.apply("d");
        assertEquals(List.of("a", "b", "c", "d", "b"), loads);
        assertEquals(3, cache.hits());
        assertEquals(5, cache.misses());
        assertEquals(1200, cache.peakBytes());
        // a tensor over the whole budget is handed out without being kept
        float[] big = cache.get("big", () -> new float[1000]);
        assertEquals(1000, big.length);
        assertEquals(1200, cache.bytes());
        assertTrue(cache.get("big", () -> new float[1000]) != big);
    }

    @Test
    void byteSizesAndTheirErrorsNameTheSetting() {
        assertEquals(256L << 20, ByteSize.parse("256m", "x"));
        assertEquals(80L << 30, ByteSize.parse("80GiB", "x"));
        assertEquals(1536L << 20, ByteSize.parse("1.5g", "x"));
        assertEquals(4096, ByteSize.parse("4096", "x"));
        EvocompressException e = assertThrows(EvocompressException.class, () -> ByteSize.parse("lots", "evaluation.device-memory"));
        assertTrue(e.getMessage().startsWith("evaluation.device-memory must be a number of bytes"), e.getMessage());
        assertThrows(EvocompressException.class, () -> ByteSize.parse("-1g", "x"));
    }

    @Test
    void autoStreamsExactlyWhenTheWeightsExceedTheDeviceMemory() {
        assertEquals(Residency.RESIDENT, Residency.AUTO.resolve(100, 100));
        assertEquals(Residency.STREAMED, Residency.AUTO.resolve(101, 100));
        assertEquals(Residency.RESIDENT, Residency.RESIDENT.resolve(101, 100));
        assertEquals(Residency.STREAMED, Residency.STREAMED.resolve(1, 100));
        assertEquals(Residency.STREAMED, Residency.parse(" Streamed ", "x"));
        assertThrows(EvocompressException.class, () -> Residency.parse("disk", "--residency"));
    }
}
