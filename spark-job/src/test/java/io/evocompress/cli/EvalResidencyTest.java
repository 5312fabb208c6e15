package io.evocompress.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.evocompress.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static io.evocompress.cli.MainTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code eval --residency streamed} against {@code --residency resident} on every family's fixture and real
 * text, in two Spark tasks: the same perplexity and token count, bit for bit (the same sums in the same order).
 */
class EvalResidencyTest {

    private static JsonNode eval(String fixture, String residency, String... extra) throws Exception {
        String[] base = {"eval", "--model", Fixtures.model(fixture).toString(), "--data",
            Fixtures.text("tinystories_sample.txt").toString(), "--seq-len", "64", "--max-tokens", "700",
            "--batch-size", "3", "--partitions", "2", "--residency", residency, "--json"};
        String[] argv = java.util.Arrays.copyOf(base, base.length + extra.length);
        System.arraycopy(extra, 0, argv, base.length, extra.length);
        MainTest.Run r = run(argv);
        assertEquals(0, r.status(), r.err());
        assertTrue(r.err().contains("residency " + residency), r.err());
        return r.json();
    }

    @ParameterizedTest
    @ValueSource(strings = {"stories260K", "babyllama105", "tiny-opt", "tiny-bloom", "tiny-phi3"})
    void streamedEvalGivesTheResidentNumbers(String fixture) throws Exception {
        JsonNode resident = eval(fixture, "resident");
        JsonNode streamed = eval(fixture, "streamed");
        assertEquals("streamed", streamed.get("residency").asText());
        assertEquals(resident.get("tokens").asLong(), streamed.get("tokens").asLong());
        assertEquals(resident.get("nll_per_token").asDouble(), streamed.get("nll_per_token").asDouble(), 0.0, fixture);
        assertEquals(resident.get("perplexity").asDouble(), streamed.get("perplexity").asDouble(), 0.0, fixture);
    }

    @Test
    void autoStreamsWhenTheModelExceedsTheDeviceMemoryAndGivesTheSameNumbers() throws Exception {
        // stories260K is about 1 MB in float32: 64 KiB of device memory cannot hold it, 1 GiB can
        JsonNode streamed = eval("stories260K", "auto", "--device-memory", "64k", "--reference-model",
            Fixtures.model("stories260K").toString());
        assertEquals("streamed", streamed.get("residency").asText());
        JsonNode resident = eval("stories260K", "auto", "--device-memory", "1g", "--reference-model",
            Fixtures.model("stories260K").toString());
        assertEquals("resident", resident.get("residency").asText());
        assertEquals(resident.get("nll_per_token").asDouble(), streamed.get("nll_per_token").asDouble(), 0.0);
        assertEquals(0.0, streamed.get("kl_divergence").asDouble(), 1e-12);
    }

    @Test
    void aBadResidencyIsAUsageError() {
        MainTest.Run r = run("eval", "--model", Fixtures.stories260k().toString(), "--data", "x", "--residency", "disk");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("--residency must be auto, resident or streamed, but was 'disk'"), r.err());
        MainTest.Run m = run("eval", "--model", Fixtures.stories260k().toString(), "--data", "x", "--device-memory", "lots");
        assertEquals(2, m.status());
        assertTrue(m.err().contains("--device-memory must be a number of bytes"), m.err());
    }
}
