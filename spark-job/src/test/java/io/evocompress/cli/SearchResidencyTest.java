package io.evocompress.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.evocompress.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code evaluation.residency: streamed} in search: every task scores its candidates together on the dense
 * model streamed block by block, shared prefixes once (search.candidates-per-task: auto, the default, puts a
 * generation's candidates in one task on the tests' one task slot); the search finds the
 * resident search's result with the same KL and perplexity, bit for bit (sparsity with a database, and depth
 * with dropped halves), running fewer block forwards.
 */
class SearchResidencyTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path tmp;

    private static JsonNode search(String config, String output, String residency, String... extra) throws Exception {
        List<String> a = new ArrayList<>(List.of("search", "--config", SearchCommandTest.conf(config).toString(),
            "--set", "model=" + Fixtures.stories260k(), "--set", "output=" + tmp.resolve(output),
            "--set", "calibration.data=" + Fixtures.text("tinystories_train_head.txt"),
            "--set", "calibration.sequences=16", "--set", "calibration.seq-len=128", "--set", "calibration.shards=2",
            "--set", "heldout.data=" + Fixtures.text("tinystories_sample.txt"), "--set", "heldout.seq-len=128",
            "--set", "heldout.max-tokens=2048", "--set", "final.tokens=2048", "--set", "search.stages=1@512,1@2048",
            "--set", "search.offspring=8", "--set", "search.generations=4", "--set", "evaluation.residency=" + residency,
            "--json"));
        a.addAll(List.of(extra));
        MainTest.Run r = MainTest.run(a.toArray(new String[0]));
        assertEquals(0, r.status(), r.err());
        return JSON.readTree(tmp.resolve(output).resolve("result.json").toFile());
    }

    @Test
    void aStreamedSparsitySearchFindsTheResidentResult() throws Exception {
        String[] db = {"--set", "database.path=" + tmp.resolve("db"), "--set", "database.max-level=2",
            "--set", "baselines=[uniform]"};
        JsonNode resident = search("evopress-sparsity-70.yaml", "sparsity-resident", "resident", db);
        JsonNode streamed = search("evopress-sparsity-70.yaml", "sparsity-streamed", "streamed", db);
        assertEquals(resident.get("result"), streamed.get("result"));
        assertEquals(resident.get("baselines"), streamed.get("baselines"));
        assertEquals(resident.get("dense").get("perplexity").asDouble(), streamed.get("dense").get("perplexity").asDouble(), 0);
        // resident tasks run one candidate at a time: every block, nothing predicted to be shared; streamed tasks
        // share prefixes among a stage's candidates (all in one task here)
        JsonNode r = resident.get("timing");
        JsonNode s = streamed.get("timing");
        assertEquals(r.get("naive_block_forwards"), s.get("naive_block_forwards"));
        assertEquals(r.get("naive_block_forwards"), r.get("block_forwards"));
        assertEquals(r.get("naive_block_forwards"), r.get("predicted_block_forwards"));
        assertTrue(s.get("block_forwards").asDouble() < 0.95 * s.get("naive_block_forwards").asDouble(), s.toString());

        // a device memory too small for two candidates' hidden states (fitness.CandidatesAtOnce): the tasks run
        // their candidates one at a time, every block for each, and find the same result
        JsonNode small = search("evopress-sparsity-70.yaml", "sparsity-streamed-small", "streamed",
            concat(db, "--set", "evaluation.device-memory=1m"));
        assertEquals(resident.get("result"), small.get("result"));
        assertEquals(resident.get("baselines"), small.get("baselines"));
        assertEquals(r.get("naive_block_forwards"), small.get("timing").get("block_forwards"), small.get("timing").toString());
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    void aStreamedDepthSearchFindsTheResidentResult() throws Exception {
        JsonNode resident = search("evopress-depth-25.yaml", "depth-resident", "resident", "--set", "search.initial-tokens=512");
        JsonNode streamed = search("evopress-depth-25.yaml", "depth-streamed", "streamed", "--set", "search.initial-tokens=512");
        assertEquals(resident.get("result"), streamed.get("result"));
        assertEquals(resident.get("baselines"), streamed.get("baselines"));
    }
}
