package io.evocompress.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.evocompress.Fixtures;
import io.evocompress.PrefixlessCheckpoints;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The commands on the OPT, BLOOM and Phi-3 fixtures: a 70% sparsity search (building its database),
 * then export and eval of the searched profile, which scores the searched perplexity, in a
 * checkpoint with the input's own tensor names, shapes and dtypes (fused tensors fused again); the
 * same for copies saved without the base model's prefix (build-db in the bits domain on one).
 */
class FamilyCommandsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"tiny-opt", "tiny-bloom", "tiny-phi3"})
    void sparsitySearchThenExportAndEvalReproduceThePerplexity(String fixture) throws Exception {
        String out = fixture + "-sparsity";
        JsonNode res = job("search", "evopress-sparsity-70.yaml", fixture, out, "calibration.shards=1", "final.tokens=2048",
            "database.path=" + tmp.resolve(fixture + "-db"), "search.stages=1@512,1@2048", "search.offspring=8",
            "search.generations=15");
        double kl = res.get("result").get("kl_divergence").asDouble();
        double ppl = res.get("result").get("perplexity").asDouble();
        double uniform = res.at("/baselines/uniform/kl_divergence").asDouble();
        double owl = res.at("/baselines/owl/kl_divergence").asDouble();
        System.out.printf("family %s sparsity 70%%: EvoPress KL %.5f, uniform %.5f, OWL %.5f%n", fixture, kl, uniform, owl);
        assertTrue(kl < uniform, fixture + ": EvoPress KL " + kl + " vs uniform " + uniform);
        assertTrue(kl < owl, fixture + ": EvoPress KL " + kl + " vs OWL " + owl);

        Path exported = tmp.resolve(fixture + "-model");
        export(out, exported, "--dtype", "f32");
        assertEquals(header(Fixtures.model(fixture).resolve("model.safetensors")), header(exported.resolve("model.safetensors")),
            fixture + ": the exported checkpoint has the input's tensor names, shapes and dtypes");
        MainTest.Run ev = MainTest.run("eval", "--model", exported.toString(), "--data",
            Fixtures.text("tinystories_sample.txt").toString(), "--seq-len", "128", "--json");
        assertEquals(0, ev.status(), ev.err());
        assertEquals(ppl, ev.json().get("perplexity").asDouble(), ppl * 1e-4, fixture + ": exported model");
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-opt", "tiny-bloom", "tiny-phi3"})
    void everyCompressMethodWritesTheFamilyLayoutAndOrdersAsExpected(String fixture) throws Exception {
        Path model = Fixtures.model(fixture);
        Map<String, String> header = header(model.resolve("model.safetensors"));
        Map<String, Double> ppl = new TreeMap<>();
        ppl.put("dense", perplexity(model));
        Map<String, List<String>> runs = new TreeMap<>();
        runs.put("sparsegpt50", List.of("--method", "sparsegpt", "--sparsity", "0.5"));
        runs.put("wanda50", List.of("--method", "wanda", "--sparsity", "0.5"));
        runs.put("magnitude50", List.of("--method", "magnitude", "--sparsity", "0.5"));
        runs.put("gptq4", List.of("--method", "gptq", "--bits", "4", "--group-size", "64", "--format", "dense"));
        runs.put("rtn4", List.of("--method", "rtn", "--bits", "4", "--group-size", "64", "--format", "dense"));
        runs.put("gptq4-ct", List.of("--method", "gptq", "--bits", "4", "--group-size", "64"));
        for (Map.Entry<String, List<String>> e : runs.entrySet()) {
            Path out = tmp.resolve(fixture + "-" + e.getKey());
            List<String> argv = new ArrayList<>(List.of("compress", "--model", model.toString(), "--out", out.toString(), "--json"));
            argv.addAll(e.getValue());
            if (!e.getKey().startsWith("magnitude") && !e.getKey().startsWith("rtn")) {
                argv.addAll(List.of("--calibration-data", Fixtures.text("tinystories_train_head.txt").toString(),
                    "--calibration-sequences", "16", "--seq-len", "128"));
            }
            MainTest.Run r = MainTest.run(argv.toArray(String[]::new));
            assertEquals(0, r.status(), fixture + " " + e.getKey() + ": " + r.err());
            Map<String, String> written = header(out.resolve("model.safetensors"));
            if (e.getKey().endsWith("-ct")) {
                // compressed-tensors: every unfused linear X.weight becomes X.weight_packed/_scale/_zero_point/_shape,
                // a fused one (its parts quantized separately) stays dense; everything else as in the input
                int packed = 0;
                for (Map.Entry<String, String> h : header.entrySet()) {
                    String module = h.getKey().substring(0, h.getKey().lastIndexOf('.'));
                    if (!written.containsKey(h.getKey()) && written.containsKey(module + ".weight_packed")) {
                        packed++;
                        for (String part : List.of("weight_packed", "weight_scale", "weight_zero_point", "weight_shape")) {
                            assertTrue(written.containsKey(module + "." + part), fixture + ": " + module + "." + part);
                        }
                    } else {
                        assertEquals(h.getValue(), written.get(h.getKey()), fixture + " " + h.getKey());
                    }
                }
                assertTrue(packed > 0, fixture + ": no layer packed");
            } else {
                assertEquals(header, written, fixture + " " + e.getKey());
            }
            ppl.put(e.getKey(), perplexity(out));
        }
        System.out.printf("compress %s held-out perplexity: %s%n", fixture, ppl);
        double dense = ppl.get("dense");
        for (String method : List.of("sparsegpt50", "wanda50", "magnitude50")) {
            assertTrue(ppl.get(method) > dense, fixture + " " + method + " " + ppl);
        }
        // calibrated pruning beats magnitude; 4 bits in groups of 64 stays within 2% of dense (on these
        // tiny models RTN and GPTQ at 4 bits are within noise of each other and of dense, so no order)
        assertTrue(ppl.get("sparsegpt50") < ppl.get("magnitude50"), fixture + " " + ppl);
        assertTrue(ppl.get("sparsegpt50") < ppl.get("wanda50"), fixture + " " + ppl);
        for (String method : List.of("gptq4", "rtn4", "gptq4-ct")) {
            assertEquals(dense, ppl.get(method), 0.02 * dense, fixture + " " + method + " " + ppl);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-opt", "tiny-bloom", "tiny-phi3"})
    void scheduleAt70PercentThenExportAndEval(String fixture) throws Exception {
        String out = fixture + "-schedule";
        JsonNode res = job("schedule", "schedule-70.yaml", fixture, out,
            "database.path=" + tmp.resolve(fixture + "-schedule-db"), "database.max-level=0", "evaluation.tokens=2048");
        assertTrue(res.at("/result/kl_divergence").asDouble() > 0, res.toString());
        Path exported = tmp.resolve(fixture + "-schedule-model");
        export(out, exported, "--dtype", "f32");
        assertEquals(header(Fixtures.model(fixture).resolve("model.safetensors")), header(exported.resolve("model.safetensors")));
        double ppl = res.at("/result/perplexity").asDouble();
        assertEquals(ppl, perplexity(exported), ppl * 1e-4, fixture + ": the exported schedule scores the run's perplexity");
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-opt", "tiny-bloom", "tiny-phi3"})
    void scheduleAt70PercentWithInt4ExportsPackedFusedLayersThatEvalLoads(String fixture) throws Exception {
        String out = fixture + "-schedule-int4";
        JsonNode res = job("schedule", "schedule-70-int4.yaml", fixture, out,
            "database.path=" + tmp.resolve(fixture + "-schedule-int4-db"), "database.max-level=0",
            "evaluation.tokens=2048");
        Path exported = tmp.resolve(fixture + "-schedule-int4-model");
        export(out, exported, "--format", "evocompress-int4");
        JsonNode config = JSON.readTree(exported.resolve("config.json").toFile());
        assertEquals("evocompress-int4", config.at("/quantization_config/quant_method").asText());
        // packed layers carry the family's own (fused) module names, e.g. qkv_proj.qweight
        assertTrue(!fixture.equals("tiny-phi3") || header(exported.resolve("model.safetensors"))
            .containsKey("model.layers.0.self_attn.qkv_proj.qweight"), fixture);
        for (String name : header(exported.resolve("model.safetensors")).keySet()) {
            assertTrue(!name.matches(".*\\.(q|k|v|gate|up)\\.[a-z_]+$"), fixture + ": " + name);
        }
        double ppl = perplexity(exported);
        assertEquals(res.at("/result/perplexity").asDouble(), ppl, 0.02 * ppl, fixture + ": packed export");
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-opt", "tiny-bloom", "tiny-phi3"})
    void threeBitSearchBeatsUniformThreeBits(String fixture) throws Exception {
        String out = fixture + "-bits";
        JsonNode res = job("search", "evopress-bits-3.yaml", fixture, out, "calibration.shards=1", "final.tokens=2048",
            "database.path=" + tmp.resolve(fixture + "-bits-db"), "search.stages=2@512,1@2048", "search.offspring=8",
            "search.generations=20", "baselines=[uniform]");
        double kl = res.at("/result/kl_divergence").asDouble();
        double uniform = res.at("/baselines/uniform/kl_divergence").asDouble();
        System.out.printf("family %s 3 bits: EvoPress KL %.5f, uniform %.5f%n", fixture, kl, uniform);
        assertTrue(kl < uniform, fixture + ": EvoPress KL " + kl + " vs uniform 3 bits " + uniform);
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-opt", "tiny-bloom", "tiny-phi3"})
    void depthSearchAt25PercentThenExportAndEval(String fixture) throws Exception {
        String out = fixture + "-depth";
        JsonNode res = job("search", "evopress-depth-25.yaml", fixture, out, "final.tokens=2048",
            "search.stages=2@512,1@2048", "search.offspring=8", "search.generations=8", "search.initial-tokens=512");
        String stem = Map.of("tiny-opt", "model.decoder.layers.", "tiny-bloom", "transformer.h.", "tiny-phi3", "model.layers.")
            .get(fixture);
        res.at("/result/profile").fieldNames().forEachRemaining(unit ->
            assertTrue(unit.startsWith(stem), fixture + ": depth unit " + unit + " is named after the family's blocks"));
        Path exported = tmp.resolve(fixture + "-depth-model");
        export(out, exported, "--dtype", "f32");
        double ppl = res.at("/result/perplexity").asDouble();
        assertEquals(ppl, perplexity(exported), ppl * 1e-4, fixture + ": exported depth model");
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-opt", "tiny-bloom", "tiny-phi3"})
    void darwinAt50PercentWritesTheFamilyLayoutAndItsModelsLoad(String fixture) throws Exception {
        String out = fixture + "-darwin";
        JsonNode res = job("darwin", "darwin-50.yaml", fixture, out, "search.generations=4", "search.offspring=4",
            "search.stages=2@512:1024,1@1024:2048", "post-training.tokens=6400", "post-training.checkpoint-every=10",
            "final.tokens=2048", "final.candidates=1");
        double kl = res.at("/result/kl_divergence").asDouble();
        double uniform = res.at("/baselines/uniform/kl_divergence").asDouble();
        System.out.printf("family %s darwin 50%%: DarwinLM KL %.5f, uniform structured %.5f (%.1f s)%n", fixture, kl, uniform,
            res.get("seconds").asDouble());
        assertTrue(kl < uniform, fixture + ": DarwinLM KL " + kl + " vs uniform structured " + uniform);
        assertEquals(header(Fixtures.model(fixture).resolve("model.safetensors")).keySet(),
            header(tmp.resolve(out).resolve("model-padded").resolve("model.safetensors")).keySet());
        assertEquals(header(Fixtures.model(fixture).resolve("model.safetensors")).keySet(),
            header(tmp.resolve(out).resolve("model").resolve("model.safetensors")).keySet());
        // exactly half of the prunable parameters (weights and biases; BLOOM's heads take their k and v rows)
        assertEquals(0.5, res.at("/result/removed_fraction_of_prunable").asDouble(), 1e-12, fixture);
        assertEquals(0.5, res.at("/baselines/uniform/removed_fraction_of_prunable").asDouble(), 1e-12, fixture);
        // the smaller model and its zero-padded standard layout compute the same function
        double small = perplexity(tmp.resolve(out).resolve("model"));
        double padded = perplexity(tmp.resolve(out).resolve("model-padded"));
        assertTrue(Double.isFinite(small), fixture);
        assertEquals(small, padded, small * 1e-4, fixture + ": model/ vs model-padded/");
        if (fixture.equals("tiny-bloom")) {
            // query_key_value holds the kept heads' [q; k; v] rows: 3 x heads x head_dim 16
            Map<String, String> h = header(tmp.resolve(out).resolve("model").resolve("model.safetensors"));
            JsonNode heads = res.at("/result/profile/heads_per_layer");
            for (int b = 0; b < heads.size(); b++) {
                assertEquals("F32 [" + 48 * heads.get(b).asInt() + ",64]", h.get("transformer.h." + b
                    + ".self_attention.query_key_value.weight"), "block " + b);
            }
        }
    }

    /**
     * A checkpoint saved from the base model class (tensors without {@code model.} / {@code transformer.}):
     * eval on the fixture's reference token ids gives reference.json's NLL, and compress writes the
     * input's naming back.
     */
    @ParameterizedTest
    @ValueSource(strings = {"tiny-opt", "tiny-bloom"})
    void aPrefixlessCheckpointEvalsToTheReferenceAndCompressKeepsItsNaming(String fixture) throws Exception {
        Path copy = PrefixlessCheckpoints.copy(Fixtures.model(fixture), tmp.resolve(fixture + "-prefixless"));
        MainTest.Run ev = MainTest.run("eval", "--model", copy.toString(), "--data",
            copy.resolve("reference_logits.safetensors").toString(), "--json");
        assertEquals(0, ev.status(), ev.err());
        double nll = JSON.readTree(copy.resolve("reference.json").toFile()).get("nll_per_token").asDouble();
        assertEquals(nll, ev.json().get("nll_per_token").asDouble(), 1e-4, fixture + ": NLL of the prefix-less copy");
        Path pruned = tmp.resolve(fixture + "-prefixless-magnitude");
        MainTest.Run c = MainTest.run("compress", "--model", copy.toString(), "--out", pruned.toString(),
            "--method", "magnitude", "--sparsity", "0.5", "--json");
        assertEquals(0, c.status(), c.err());
        assertEquals(header(copy.resolve("model.safetensors")), header(pruned.resolve("model.safetensors")),
            fixture + ": compress keeps the input's naming");
    }

    /**
     * build-db (the command, bits domain) on a prefix-less BLOOM (fused per-head query_key_value, no
     * lm_head) names its units in full, GPTQ's error falling with every bit; a 3-bit search on that
     * database exports a checkpoint in the input's own naming that reproduces the searched perplexity.
     * The copy holds the fixture's weights under the same full names, so the database is the one
     * {@link #threeBitSearchBeatsUniformThreeBits} uses (same id: built by whichever runs first).
     */
    @org.junit.jupiter.api.Test
    void aPrefixlessBloomBuildsSearchesAndExportsInItsOwnNaming() throws Exception {
        Path copy = PrefixlessCheckpoints.copy(Fixtures.model("tiny-bloom"), tmp.resolve("bloom-prefixless-searched"));
        Path db = tmp.resolve("tiny-bloom-bits-db");
        JsonNode manifest = buildDb("build-db-bits.yaml", copy, db, List.of(
            "calibration.data=" + Fixtures.text("tinystories_train_head.txt"), "calibration.sequences=16",
            "calibration.seq-len=128", "calibration.shards=1", "database.bits=[2, 3, 4, 5, 6]", "database.group-size=64"));
        assertEquals(4 * 6, manifest.get("layers").size(), manifest.toString());
        for (JsonNode layer : manifest.get("layers")) {
            assertTrue(layer.get("name").asText().startsWith("transformer.h."), layer.get("name").asText());
            Map<Integer, Double> error = new TreeMap<>();
            layer.get("levels").forEach(l -> error.put(l.get("bits").asInt(), l.get("error").asDouble()));
            assertEquals(java.util.Set.of(2, 3, 4, 5, 6), error.keySet(), layer.toString());
            for (int bits = 2; bits < 6; bits++) {
                assertTrue(error.get(bits) > error.get(bits + 1), layer.toString());
            }
        }
        String out = "bloom-prefixless-bits";
        double ppl = job("search", "evopress-bits-3.yaml", "tiny-bloom", out, "model=" + copy, "calibration.shards=1",
            "database.path=" + db, "final.tokens=512", "search.stages=1@256,1@512", "search.initial-tokens=512",
            "search.offspring=4", "search.generations=2", "baselines=[]").at("/result/perplexity").asDouble();
        assertEquals(manifest.get("databaseId"), JSON.readTree(db.resolve("manifest.json").toFile()).get("databaseId"),
            "the search ran on build-db's database");
        Path exported = tmp.resolve("bloom-prefixless-model");
        export(out, exported, "--format", "dense", "--dtype", "f32");
        assertEquals(header(copy.resolve("model.safetensors")), header(exported.resolve("model.safetensors")),
            "the export has the prefix-less input's tensor names, shapes and dtypes");
        assertEquals(ppl, perplexity(exported), ppl * 1e-4, "exported prefix-less model");
    }

    /** {@code build-db} with conf/{@code config} on {@code model} into {@code output}, plus {@code sets}; its manifest. */
    private static JsonNode buildDb(String config, Path model, Path output, List<String> sets) throws Exception {
        List<String> all = new ArrayList<>(List.of("model=" + model, "output=" + output));
        all.addAll(sets);
        runOk("build-db", config, all);
        return JSON.readTree(output.resolve("manifest.json").toFile());
    }

    /**
     * Runs {@code command} with conf/{@code config} on the fixture (16 x 128 calibration tokens of the
     * TinyStories head, the sample as held-out text at 128 tokens), output tmp/{@code out}, plus
     * {@code sets}; fails unless it exits 0; returns the run's result.json.
     */
    private static JsonNode job(String command, String config, String fixture, String out, String... sets) throws Exception {
        List<String> all = new ArrayList<>(List.of("model=" + Fixtures.model(fixture), "output=" + tmp.resolve(out),
            "calibration.data=" + Fixtures.text("tinystories_train_head.txt"), "calibration.sequences=16",
            "calibration.seq-len=128", "heldout.data=" + Fixtures.text("tinystories_sample.txt"), "heldout.seq-len=128"));
        all.addAll(List.of(sets));
        runOk(command, config, all);
        return JSON.readTree(tmp.resolve(out).resolve("result.json").toFile());
    }

    /** Runs {@code command --config conf/config --set s ... --json}; fails unless it exits 0. */
    private static void runOk(String command, String config, List<String> sets) {
        List<String> args = new ArrayList<>(List.of(command, "--config", SearchCommandTest.conf(config).toString()));
        for (String set : sets) {
            args.add("--set");
            args.add(set);
        }
        args.add("--json");
        MainTest.Run r = MainTest.run(args.toArray(new String[0]));
        assertEquals(0, r.status(), r.err());
    }

    /** {@code export} of tmp/{@code out}'s result to {@code exported} with {@code options}; fails unless it exits 0. */
    private static void export(String out, Path exported, String... options) {
        List<String> args = new java.util.ArrayList<>(List.of("export", "--result", tmp.resolve(out).toString(), "--out",
            exported.toString()));
        args.addAll(List.of(options));
        args.add("--json");
        MainTest.Run e = MainTest.run(args.toArray(new String[0]));
        assertEquals(0, e.status(), e.err());
    }

    private static double perplexity(Path model) throws Exception {
        MainTest.Run r = MainTest.run("eval", "--model", model.toString(), "--data",
            Fixtures.text("tinystories_sample.txt").toString(), "--seq-len", "128", "--json");
        assertEquals(0, r.status(), r.err());
        return r.json().get("perplexity").asDouble();
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
            for (Iterator<Map.Entry<String, JsonNode>> it = h.properties().iterator(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> t = it.next();
                if (!t.getKey().equals("__metadata__")) {
                    out.put(t.getKey(), t.getValue().get("dtype").asText() + " " + t.getValue().get("shape"));
                }
            }
            return out;
        }
    }

}
