package io.evocompress.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.evocompress.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code darwin} end to end on babyllama105 with conf/darwin-50.yaml shrunk by --set (fewer
 * generations, smaller stages, a shorter post-training), then {@code eval} on both exports.
 */
class DarwinCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path tmp;

    static List<String> args(String output, String... extra) {
        List<String> a = new ArrayList<>(List.of("darwin", "--config", SearchCommandTest.conf("darwin-50.yaml").toString(),
            "--set", "model=" + Fixtures.model("babyllama105"),
            "--set", "output=" + tmp.resolve(output),
            "--set", "calibration.data=" + Fixtures.text("tinystories_train_head.txt"),
            "--set", "calibration.sequences=16", "--set", "calibration.seq-len=128",
            "--set", "search.generations=4", "--set", "search.offspring=4",
            "--set", "search.stages=2@512:1024,1@1024:2048",
            "--set", "post-training.tokens=12800", "--set", "post-training.checkpoint-every=10",
            "--set", "heldout.data=" + Fixtures.text("tinystories_sample.txt"), "--set", "heldout.seq-len=128",
            "--set", "final.tokens=2048", "--set", "final.candidates=3", "--json"));
        a.addAll(List.of(extra));
        return a;
    }

    static double evalPerplexity(Path model) throws Exception {
        MainTest.Run ev = MainTest.run("eval", "--model", model.toString(), "--data", Fixtures.text("tinystories_sample.txt").toString(),
            "--seq-len", "128", "--json");
        assertEquals(0, ev.status(), ev.err());
        return ev.json().get("perplexity").asDouble();
    }

    @Test
    void darwinBeatsUniformStructuredPruningAndExportsASmallerModelThatEvalLoads() throws Exception {
        MainTest.Run run = MainTest.run(args("b50").toArray(new String[0]));
        assertEquals(0, run.status(), run.err());
        JsonNode r = JSON.readTree(tmp.resolve("b50").resolve("result.json").toFile());
        JsonNode result = r.get("result");
        JsonNode uniform = r.at("/baselines/uniform");
        assertTrue(result.get("kl_divergence").asDouble() < uniform.get("kl_divergence").asDouble(), r.toString());
        assertTrue(result.get("perplexity").asDouble() < uniform.get("perplexity").asDouble(), r.toString());
        assertEquals(result.get("post_training_tokens").asLong(), uniform.get("post_training_tokens").asLong(), "the same budget");
        // both post-trained models are compared on the calibration text's validation tail (4,096 tokens by default)
        assertEquals(4096, r.at("/measured_on/validation_tokens").asLong());
        assertEquals("search", result.get("source").asText(), r.toString());
        assertTrue(result.get("validation_kl_divergence").asDouble() <= uniform.get("validation_kl_divergence").asDouble(),
            r.toString());
        // the search's finalists (its winner first, then the parents it replaced), each post-trained; the result is the
        // one best on validation
        JsonNode finalists = r.get("finalists");
        assertTrue(finalists.size() >= 1 && finalists.size() <= 3, r.toString());
        assertEquals(1, finalists.get(0).get("rank").asInt());
        double bestValidation = Double.MAX_VALUE;
        int chosen = 0;
        java.util.Set<String> levels = new java.util.HashSet<>();
        for (JsonNode f : finalists) {
            assertTrue(levels.add(f.get("levels").asText()), "distinct: " + finalists);
            bestValidation = Math.min(bestValidation, f.get("validation_kl_divergence").asDouble());
            chosen += f.get("chosen").asBoolean() ? 1 : 0;
        }
        assertEquals(1, chosen, finalists.toString());
        assertEquals(bestValidation, result.get("validation_kl_divergence").asDouble(), 0);
        JsonNode picked = finalists.get(result.get("finalist").asInt() - 1);
        assertTrue(picked.get("chosen").asBoolean());
        assertEquals(picked.get("levels").asText(), result.at("/profile/levels").asText());
        assertEquals(picked.get("kl_divergence").asDouble(), result.get("kl_divergence").asDouble(), 0);
        assertEquals(picked.get("search_fitness").asDouble(), result.get("selection_fitness").asDouble(), 0);
        // the example holds out the 16,384 calibration tokens before the validation tail: 128 sequences of 128
        assertEquals(16384, r.at("/measured_on/heldout_tail_tokens").asLong());
        double denseTail = r.at("/dense/heldout_tail_perplexity").asDouble();
        assertTrue(denseTail > 1 && denseTail < result.get("heldout_tail_perplexity").asDouble(), r.toString());
        assertTrue(result.get("heldout_tail_perplexity").asDouble() < uniform.get("heldout_tail_perplexity").asDouble(),
            r.toString());
        // the paired comparison: every tail sequence is 128 tokens, so its mean per-sequence difference is the log ratio
        JsonNode paired = r.at("/paired_heldout/heldout_tail");
        assertEquals(128, paired.get("sequences").asInt());
        assertEquals(Math.log(result.get("heldout_tail_perplexity").asDouble() / uniform.get("heldout_tail_perplexity").asDouble()),
            paired.get("mean_nll_difference").asDouble(), 1e-5);
        assertTrue(paired.get("standard_error").asDouble() > 0, paired.toString());
        assertTrue(r.at("/paired_heldout/heldout_data/sequences").asInt() > 1, r.toString());

        // parameters: babyllama105 frees 2 * 128 * 16 per query head (k/v kept) and 3 * 128 per neuron;
        // 8 heads and 352 neurons per block, 5 blocks
        long prunable = 5L * (8 * 2 * 128 * 16 + 352 * 3 * 128);
        long dense = r.at("/dense/parameters").asLong();
        long target = dense - prunable / 2;
        long params = result.get("parameters").asLong();
        assertTrue(Math.abs(params - target) <= 0.02 * target, params + " parameters vs target " + target);
        assertEquals(0.5, result.get("removed_fraction_of_prunable").asDouble(), 0.02);
        assertEquals(params, uniform.get("parameters").asLong(), "both remove the same parameters");

        // the smaller model is physically smaller and scores the reported perplexity in eval;
        // the zero-padded one computes the same function in the dense layout
        Path model = tmp.resolve("b50").resolve("model");
        Path padded = tmp.resolve("b50").resolve("model-padded");
        assertTrue(Files.size(model.resolve("model.safetensors")) < 0.7 * Files.size(padded.resolve("model.safetensors")));
        JsonNode config = JSON.readTree(model.resolve("config.json").toFile());
        assertEquals(5, config.get("evocompress_heads_per_layer").size());
        double ppl = result.get("perplexity").asDouble();
        assertEquals(ppl, evalPerplexity(model), 1e-4 * ppl);
        assertEquals(ppl, evalPerplexity(padded), 1e-3 * ppl);

        // a rerun resumes from the saved search and post-training states and reports the same numbers
        MainTest.Run again = MainTest.run(args("b50").toArray(new String[0]));
        assertEquals(0, again.status(), again.err());
        JsonNode r2 = JSON.readTree(tmp.resolve("b50").resolve("result.json").toFile());
        assertEquals(result.get("kl_divergence").asDouble(), r2.at("/result/kl_divergence").asDouble(), 0);
        assertEquals(uniform.get("perplexity").asDouble(), r2.at("/baselines/uniform/perplexity").asDouble(), 0);

        // a rerun with settings that decide the result is refused, naming each, and changes nothing; one that only
        // measures differently resumes
        byte[] written = Files.readAllBytes(tmp.resolve("b50").resolve("result.json"));
        MainTest.Run changed = MainTest.run(args("b50", "--set", "search.learning-rate=1e-4", "--set",
            "final.heldout-tokens=8192").toArray(new String[0]));
        assertTrue(changed.status() != 0, changed.err());
        assertTrue(changed.err().contains("search.learning-rate (started with") && changed.err().contains("final.heldout-tokens")
            && changed.err().contains("(database id)"), changed.err());
        assertTrue(!changed.err().contains("\tat "), changed.err());
        assertArrayEquals(written, Files.readAllBytes(tmp.resolve("b50").resolve("result.json")), "a refused rerun writes nothing");
        MainTest.Run remeasured = MainTest.run(args("b50", "--set", "final.tokens=1024").toArray(new String[0]));
        assertEquals(0, remeasured.status(), remeasured.err());
        assertEquals(result.get("perplexity").asDouble(),
            JSON.readTree(tmp.resolve("b50").resolve("result.json").toFile()).at("/result/perplexity").asDouble(), 0,
            "the same models, measured on the same held-out text");
    }

    @Test
    void heldOutTailsLongerThanTheCalibrationTextFailNamingBothSettingsBeforeAnyWork() {
        MainTest.Run run = MainTest.run(args("short", "--set", "final.heldout-tokens=50000000").toArray(new String[0]));
        assertTrue(run.status() != 0, run.err());
        assertTrue(run.err().contains("final.heldout-tokens = 50000000") && run.err().contains("final.validation-tokens"), run.err());
        assertTrue(!run.err().contains("\tat "), "no stack trace: " + run.err());
        assertTrue(!Files.exists(tmp.resolve("short").resolve("result.json")));
        assertTrue(!Files.exists(tmp.resolve("short").resolve("database")), "nothing built");
    }
}
