package io.evocompress.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.evocompress.Fixtures;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The commands on the OPT, BLOOM and Phi-3 fixtures: a 70% sparsity search (building its database),
 * then export and eval of the searched profile, which scores the searched perplexity, in a
 * checkpoint with the input's own tensor names, shapes and dtypes (fused tensors fused again).
 */
class FamilyCommandsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"tiny-opt", "tiny-bloom", "tiny-phi3"})
    void sparsitySearchThenExportAndEvalReproduceThePerplexity(String fixture) throws Exception {
        String out = fixture + "-sparsity";
        MainTest.Run r = MainTest.run("search", "--config", SearchCommandTest.conf("evopress-sparsity-70.yaml").toString(),
            "--set", "model=" + Fixtures.model(fixture), "--set", "output=" + tmp.resolve(out),
            "--set", "calibration.data=" + Fixtures.text("tinystories_train_head.txt"),
            "--set", "calibration.sequences=16", "--set", "calibration.seq-len=128", "--set", "calibration.shards=1",
            "--set", "heldout.data=" + Fixtures.text("tinystories_sample.txt"), "--set", "heldout.seq-len=128",
            "--set", "final.tokens=2048", "--set", "database.path=" + tmp.resolve(fixture + "-db"),
            "--set", "search.stages=1@512,1@2048", "--set", "search.offspring=8", "--set", "search.generations=15", "--json");
        assertEquals(0, r.status(), r.err());
        JsonNode res = JSON.readTree(tmp.resolve(out).resolve("result.json").toFile());
        double kl = res.get("result").get("kl_divergence").asDouble();
        double ppl = res.get("result").get("perplexity").asDouble();
        assertTrue(kl < res.get("baselines").get("uniform").get("kl_divergence").asDouble(),
            fixture + ": EvoPress KL " + kl + " vs uniform " + res.get("baselines").get("uniform"));

        Path exported = tmp.resolve(fixture + "-model");
        MainTest.Run e = MainTest.run("export", "--result", tmp.resolve(out).toString(), "--out",
            exported.toString(), "--dtype", "f32", "--json");
        assertEquals(0, e.status(), e.err());
        assertEquals(header(Fixtures.model(fixture).resolve("model.safetensors")), header(exported.resolve("model.safetensors")),
            fixture + ": the exported checkpoint has the input's tensor names, shapes and dtypes");
        MainTest.Run ev = MainTest.run("eval", "--model", exported.toString(), "--data",
            Fixtures.text("tinystories_sample.txt").toString(), "--seq-len", "128", "--json");
        assertEquals(0, ev.status(), ev.err());
        assertEquals(ppl, ev.json().get("perplexity").asDouble(), ppl * 1e-4, fixture + ": exported model");
    }

    /** name -> "dtype shape" of a safetensors file's header (no metadata). */
    static Map<String, String> header(Path file) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
            byte[] len = new byte[8];
            f.readFully(len);
            long n = java.nio.ByteBuffer.wrap(len).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
            byte[] json = new byte[Math.toIntExact(n)];
            f.readFully(json);
            JsonNode h = JSON.readTree(new String(json, StandardCharsets.UTF_8));
            Map<String, String> out = new TreeMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = h.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> t = it.next();
                if (!t.getKey().equals("__metadata__")) {
                    out.put(t.getKey(), t.getValue().get("dtype").asText() + " " + t.getValue().get("shape"));
                }
            }
            return out;
        }
    }

}
