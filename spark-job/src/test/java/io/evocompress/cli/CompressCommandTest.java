package io.evocompress.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.evocompress.Fixtures;
import io.evocompress.checkpoint.CheckpointReader;
import io.evocompress.cli.MainTest.Run;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static io.evocompress.cli.MainTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code compress} end to end on the real fixture models: every method's checkpoint is scored by
 * {@code eval} on held-out text (tinystories_sample.txt; calibration windows come from the separate
 * tinystories_train_head.txt). The methods that compensate through the Hessian must beat their
 * baselines at the same compression: SparseGPT 50% below magnitude 50%, GPTQ 4-bit below RTN 4-bit,
 * and every compressed model above the dense one.
 */
class CompressCommandTest {
    private static final String CALIBRATION = Fixtures.text("tinystories_train_head.txt").toString();
    private static final String HELD_OUT = Fixtures.text("tinystories_sample.txt").toString();

    @Test
    void stories260kCompressedByHessianMethodsBeatsTheBaselines(@TempDir Path tmp) throws Exception {
        checkModel("stories260K", Fixtures.stories260k(), tmp);
    }

    @Test
    void babyllama105CompressedByHessianMethodsBeatsTheBaselines(@TempDir Path tmp) throws Exception {
        checkModel("babyllama105", Fixtures.babyllama105(), tmp);
    }

    private static void checkModel(String name, Path model, Path tmp) throws Exception {
        Map<String, Double> ppl = new LinkedHashMap<>();
        ppl.put("dense", perplexity(model));
        Map<String, List<String>> runs = new LinkedHashMap<>();
        runs.put("sparsegpt50", List.of("--method", "sparsegpt", "--sparsity", "0.5"));
        runs.put("magnitude50", List.of("--method", "magnitude", "--sparsity", "0.5"));
        // these layers have 64..352 inputs: group size 128 is one grid per row on the 64-input layers
        runs.put("gptq4", List.of("--method", "gptq", "--bits", "4", "--group-size", "128"));
        runs.put("rtn4", List.of("--method", "rtn", "--bits", "4", "--group-size", "128"));
        int linearLayers = 7 * 5;
        for (Map.Entry<String, List<String>> e : runs.entrySet()) {
            Path out = tmp.resolve(e.getKey());
            List<String> argv = new java.util.ArrayList<>(List.of("compress", "--model", model.toString(),
                "--out", out.toString(), "--json"));
            argv.addAll(e.getValue());
            if (!e.getKey().startsWith("magnitude") && !e.getKey().startsWith("rtn")) {
                argv.addAll(List.of("--calibration-data", CALIBRATION, "--calibration-sequences", "32", "--seq-len", "128"));
            }
            Run r = run(argv.toArray(String[]::new));
            assertEquals(0, r.status(), r.err());
            JsonNode json = r.json();
            assertEquals(linearLayers, json.get("layers_compressed").asInt(), json.toString());
            if (e.getKey().endsWith("50")) {
                // exactly round(0.5 * count) zeros per SparseGPT block / magnitude layer: 0.5 up to rounding
                assertEquals(0.5, json.get("mean_sparsity").asDouble(), 1e-3, json.toString());
            } else {
                // 4-bit codes plus a 16-bit scale and a 4-bit zero per row and group of <= 128 columns
                double bpw = json.get("bits_per_weight").asDouble();
                assertTrue(bpw > 4 && bpw < 4 + 20.0 / 64 + 1e-9, json.toString());
            }
            assertTrue(r.err().contains("block 4 down_proj"), r.err());
            assertTrue(Files.exists(out.resolve("tokenizer.json")), "tokenizer copied to " + out);
            ppl.put(e.getKey(), perplexity(out));
        }
        System.out.printf("compress %s held-out perplexity: %s%n", name, ppl);
        double dense = ppl.get("dense");
        for (String method : runs.keySet()) {
            assertTrue(ppl.get(method) > dense, name + " " + method + " " + ppl);
        }
        assertTrue(ppl.get("sparsegpt50") < ppl.get("magnitude50"), name + " " + ppl);
        assertTrue(ppl.get("gptq4") < ppl.get("rtn4"), name + " " + ppl);
    }

    private static double perplexity(Path model) throws Exception {
        Run r = run("eval", "--model", model.toString(), "--data", HELD_OUT, "--seq-len", "128", "--json");
        assertEquals(0, r.status(), r.err());
        return r.json().get("perplexity").asDouble();
    }

    @Test
    void theWrittenCheckpointKeepsEverythingButTheLinearWeights(@TempDir Path tmp) throws Exception {
        Path model = Fixtures.stories260k();
        Path out = tmp.resolve("mag");
        Run r = run("compress", "--model", model.toString(), "--method", "magnitude", "--pattern", "2:4",
            "--out", out.toString(), "--dtype", "f32", "--json");
        assertEquals(0, r.status(), r.err());
        try (CheckpointReader dense = CheckpointReader.open(model.toString());
             CheckpointReader compressed = CheckpointReader.open(out.toString())) {
            assertEquals(dense.tensorFiles().keySet(), compressed.tensorFiles().keySet());
            for (String name : dense.tensorFiles().keySet()) {
                float[] a = dense.readFloat(name);
                float[] b = compressed.readFloat(name);
                boolean linear = name.contains("_proj.");
                if (!linear) {
                    org.junit.jupiter.api.Assertions.assertArrayEquals(a, b, name);
                    continue;
                }
                // 2:4: exactly 2 zeros in every 4 consecutive inputs of a row, the kept ones unchanged
                for (int i = 0; i < b.length; i += 4) {
                    int zeros = 0;
                    for (int k = i; k < i + 4; k++) {
                        if (b[k] == 0f) {
                            zeros++;
                        } else {
                            assertEquals(a[k], b[k], name);
                        }
                    }
                    assertEquals(2, zeros, name + " at " + i);
                }
            }
        }
        // --overwrite is needed to replace it
        Run again = run("compress", "--model", model.toString(), "--method", "magnitude", "--sparsity", "0.3",
            "--out", out.toString());
        assertEquals(1, again.status());
        assertTrue(again.err().contains("already exists") && again.err().contains("--overwrite"), again.err());
    }

    @Test
    void badOptionsAreRejectedBeforeAnyWorkNamingTheOption(@TempDir Path tmp) throws Exception {
        String model = Fixtures.stories260k().toString();
        String out = tmp.resolve("x").toString();
        String[][] cases = {
            {"--method sparsegpt --sparsity 0.5", "needs --calibration-data"},
            {"--method wanda --sparsity 0.5", "needs --calibration-data"},
            {"--method gptq --bits 4", "needs --calibration-data"},
            {"--method magnitude --sparsity 1.5", "--sparsity must be in (0, 1)"},
            {"--method magnitude --sparsity 0", "--sparsity must be in (0, 1)"},
            {"--method magnitude", "needs --sparsity"},
            {"--method rtn --bits 9", "--bits must be in 2..8"},
            {"--method rtn --bits 1", "--bits must be in 2..8"},
            {"--method rtn --sparsity 0.5 --bits 4", "--sparsity does not apply to --method rtn"},
            {"--method magnitude --sparsity 0.5 --bits 4", "--bits does not apply to --method magnitude"},
            {"--method rtn --bits 4 --act-order", "--act-order applies to --method gptq only"},
            {"--method magnitude --sparsity 0.5 --pattern 2:4", "either --sparsity or --pattern"},
            {"--method magnitude --pattern 3:4", "--pattern must be 2:4 or 4:8"},
            {"--method magnitude --sparsity 0.5 --calibration-data f.txt", "--calibration-data does not apply"},
            {"--method gptq --bits 4 --group-size 96 --calibration-data f.txt", "--group-size 96"},
            {"--method magnitude --sparsity 0.5 --symmetric", "--symmetric needs --bits"},
            {"--method prune --sparsity 0.5", "--method must be one of"},
            {"--method rtn --bits 4 --dtype f8", "--dtype must be f32, f16 or bf16"},
        };
        for (String[] c : cases) {
            List<String> argv = new java.util.ArrayList<>(List.of("compress", "--model", model, "--out", out));
            argv.addAll(List.of(c[0].split(" ")));
            Run r = run(argv.toArray(String[]::new));
            assertEquals(2, r.status(), c[0] + ": " + r.err());
            assertTrue(r.err().contains(c[1]), c[0] + ": " + r.err());
            assertTrue(!Files.exists(tmp.resolve("x")), c[0]);
        }
        // N:M on a layer whose inputs are no multiple of M (stories260K's down_proj has 172 inputs, 172 % 8 = 4)
        Run r = run("compress", "--model", model, "--out", out, "--method", "magnitude", "--pattern", "4:8");
        assertEquals(1, r.status(), r.err());
        assertTrue(r.err().contains("down_proj has 172"), r.err());
        // calibration text shorter than one window
        Path shortText = Files.writeString(tmp.resolve("short.txt"), "Once upon a time.\n");
        Run tiny = run("compress", "--model", model, "--out", out, "--method", "wanda", "--sparsity", "0.5",
            "--calibration-data", shortText.toString(), "--seq-len", "128");
        assertEquals(1, tiny.status(), tiny.err());
        assertTrue(tiny.err().contains("fewer than one window of --seq-len 128"), tiny.err());
        assertTrue(!Files.exists(tmp.resolve("x")));
    }
}
