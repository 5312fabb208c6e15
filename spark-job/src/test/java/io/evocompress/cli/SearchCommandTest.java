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

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code search} and {@code export} end to end on the embedded default, with the example
 * configurations of conf/ shrunk by --set so the suite stays quick.
 */
class SearchCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path tmp;

    static Path conf(String name) {
        Path p = Path.of(System.getProperty("user.dir")).getParent().resolve("conf").resolve(name);
        return Files.exists(p) ? p : Path.of("conf", name);
    }

    /** The common shrink: small pool, held-out text, fixture paths. */
    static List<String> args(String config, String model, String output, String... extra) {
        List<String> a = new ArrayList<>(List.of("search", "--config", conf(config).toString(),
            "--set", "model=" + Fixtures.model(model),
            "--set", "output=" + tmp.resolve(output),
            "--set", "calibration.data=" + Fixtures.text("tinystories_train_head.txt"),
            "--set", "calibration.sequences=16", "--set", "calibration.seq-len=128",
            "--set", "heldout.data=" + Fixtures.text("tinystories_sample.txt"), "--set", "heldout.seq-len=128",
            "--set", "final.tokens=2048", "--json"));
        a.addAll(List.of(extra));
        return a;
    }

    static MainTest.Run search(List<String> argv) {
        return MainTest.run(argv.toArray(new String[0]));
    }

    static JsonNode result(String output) throws Exception {
        return JSON.readTree(tmp.resolve(output).resolve("result.json").toFile());
    }

    @Test
    void depthSearchFindsTheBruteForceOptimumOnBothFixtureModels() throws Exception {
        for (String model : List.of("stories260K", "babyllama105")) {
            List<String> common = List.of("--set", "search.stages=2@512,1@2048", "--set", "search.offspring=8",
                "--set", "search.generations=8", "--set", "search.initial-tokens=512");
            List<String> evo = args("evopress-depth-25.yaml", model, model + "-depth-evo");
            evo.addAll(common);
            MainTest.Run r = search(evo);
            assertEquals(0, r.status(), r.err());
            List<String> bf = args("evopress-depth-25.yaml", model, model + "-depth-bf", "--method", "brute-force");
            bf.addAll(common);
            MainTest.Run b = search(bf);
            assertEquals(0, b.status(), b.err());
            JsonNode e = result(model + "-depth-evo");
            JsonNode o = result(model + "-depth-bf");
            assertEquals(o.get("result").get("profile"), e.get("result").get("profile"), model + ": search vs brute force");
            assertEquals(o.get("result").get("kl_divergence").asDouble(), e.get("result").get("kl_divergence").asDouble(), 0);
            for (JsonNode baseline : e.get("baselines")) {
                assertTrue(e.get("result").get("kl_divergence").asDouble() <= baseline.get("kl_divergence").asDouble(),
                    model + ": the optimum is at least as good as every baseline");
            }
            assertTrue(Files.exists(tmp.resolve(model + "-depth-evo").resolve("report.html")));
            // the exported shallower model scores the searched perplexity
            Path exported = tmp.resolve(model + "-depth-model");
            MainTest.Run x = MainTest.run("export", "--result", tmp.resolve(model + "-depth-evo").toString(), "--out",
                exported.toString(), "--dtype", "f32", "--json");
            assertEquals(0, x.status(), x.err());
            MainTest.Run ev = MainTest.run("eval", "--model", exported.toString(), "--data",
                Fixtures.text("tinystories_sample.txt").toString(), "--seq-len", "128", "--json");
            assertEquals(0, ev.status(), ev.err());
            double ppl = e.get("result").get("perplexity").asDouble();
            assertEquals(ppl, ev.json().get("perplexity").asDouble(), ppl * 1e-4, model + ": exported depth model");
        }
    }

    /** A short sparsity search on a small database shared by the tests below. */
    static List<String> sparsity(String output, String... extra) {
        List<String> a = args("evopress-sparsity-70.yaml", "stories260K", output,
            "--set", "database.path=" + tmp.resolve("db-sparsity"), "--set", "calibration.shards=2",
            "--set", "search.stages=1@512,1@2048", "--set", "search.offspring=8");
        a.addAll(List.of(extra));
        return a;
    }

    @Test
    void sparsitySearchBeatsUniformAndOwlAndItsExportScoresTheSamePerplexity() throws Exception {
        MainTest.Run r = search(sparsity("sparsity", "--set", "search.generations=40"));
        assertEquals(0, r.status(), r.err());
        JsonNode res = result("sparsity");
        double kl = res.get("result").get("kl_divergence").asDouble();
        double ppl = res.get("result").get("perplexity").asDouble();
        JsonNode uniform = res.get("baselines").get("uniform");
        JsonNode owl = res.get("baselines").get("owl");
        assertTrue(kl < uniform.get("kl_divergence").asDouble(), "EvoPress KL " + kl + " vs uniform " + uniform);
        assertTrue(kl < owl.get("kl_divergence").asDouble(), "EvoPress KL " + kl + " vs OWL " + owl);
        assertTrue(ppl < uniform.get("perplexity").asDouble(), "EvoPress ppl " + ppl + " vs uniform " + uniform);
        assertEquals("best", res.get("init").asText(), "search.init defaults to best");
        JsonNode scheduler = res.get("baselines").get("scheduler");
        assertTrue(kl <= scheduler.get("kl_divergence").asDouble(), "init: best measures its scheduler start too: " + scheduler);
        // The profile keeps the total zero count: levels sum to 0, mean sparsity over parameters = 0.7.
        int sum = 0;
        for (JsonNode level : res.get("result").get("profile")) {
            sum += level.asInt();
        }
        assertEquals(0, sum);
        assertTrue(Files.readString(tmp.resolve("sparsity").resolve("profile.txt")).contains("model.layers.4.mlp.down_proj: "));

        Path exported = tmp.resolve("sparsity-model");
        MainTest.Run e = MainTest.run("export", "--result", tmp.resolve("sparsity").toString(), "--out", exported.toString(),
            "--dtype", "f32", "--json");
        assertEquals(0, e.status(), e.err());
        MainTest.Run ev = MainTest.run("eval", "--model", exported.toString(), "--data",
            Fixtures.text("tinystories_sample.txt").toString(), "--seq-len", "128", "--json");
        assertEquals(0, ev.status(), ev.err());
        assertEquals(ppl, ev.json().get("perplexity").asDouble(), ppl * 1e-4, "exported model scores the searched perplexity");
    }

    @Test
    void aResumedSearchEndsWithTheUninterruptedResult() throws Exception {
        MainTest.Run whole = search(sparsity("whole", "--set", "search.generations=6", "--set", "baselines=[uniform]"));
        assertEquals(0, whole.status(), whole.err());
        // A run that "died" after 3 generations (its state is checkpointed), continued with --resume.
        MainTest.Run part = search(sparsity("resumed", "--set", "search.generations=3", "--set", "baselines=[uniform]"));
        assertEquals(0, part.status(), part.err());
        MainTest.Run again = search(sparsity("resumed", "--set", "search.generations=6", "--set", "baselines=[uniform]"));
        assertEquals(1, again.status(), "an existing search is not overwritten without --resume");
        assertTrue(again.err().contains("--resume"), again.err());
        // The resumed generations also run search.selection-check, which only observes: the same result.
        List<String> resume = sparsity("resumed", "--set", "search.generations=6", "--set", "baselines=[uniform]",
            "--set", "search.selection-check=true");
        resume.add("--resume");
        MainTest.Run resumed = search(resume);
        assertEquals(0, resumed.status(), resumed.err());
        JsonNode a = result("whole");
        JsonNode b = result("resumed");
        assertEquals(a.get("result"), b.get("result"));
        assertEquals(a.get("generations"), b.get("generations"));
        assertTrue(a.path("selection_check").isMissingNode(), "no check, no counts");
        // generations 4-6 (this run's), 8 offspring: stage 1 (1@512) keeps 1 of 8, stage 2 (1@2048) 1 of 2
        JsonNode check = b.get("selection_check");
        assertEquals(2, check.size(), check.toString());
        long[] tokens = {512, 2048};
        long[] choices = {3 * 7, 3};
        for (int s = 0; s < 2; s++) {
            JsonNode c = check.get(s);
            assertEquals(tokens[s], c.get("tokens").asLong(), c.toString());
            assertEquals(3, c.get("decisions").asLong(), c.toString());
            assertEquals(choices[s], c.get("choices").asLong(), c.toString());
            long wrong = c.get("wrong").asLong();
            assertTrue(wrong >= 0 && wrong <= choices[s], c.toString());
            assertEquals((double) wrong / choices[s], c.get("wrong_rate").asDouble(), 1e-12, c.toString());
            assertTrue(c.get("best_missed").asLong() <= 3, c.toString());
        }
        assertTrue(resumed.err().contains("stage 2 (1@2048): 3 decisions, 3 kept-vs-discarded choices"), resumed.err());
    }

    @Test
    void threeBitSearchBeatsUniformThreeBits() throws Exception {
        MainTest.Run r = search(args("evopress-bits-3.yaml", "stories260K", "bits",
            "--set", "database.path=" + tmp.resolve("db-bits"), "--set", "calibration.shards=2",
            "--set", "search.stages=2@512,1@2048", "--set", "search.offspring=8", "--set", "search.generations=30",
            "--set", "baselines=[uniform]", "--set", "domain.tie=[]"));   // untied; the example ties q/k/v and gate/up
        assertEquals(0, r.status(), r.err());
        JsonNode res = result("bits");
        double kl = res.get("result").get("kl_divergence").asDouble();
        assertTrue(kl < res.get("baselines").get("uniform").get("kl_divergence").asDouble(), res.toString());
        long bits = 0;
        long params = 0;
        for (var e : iterable(res.get("result").get("profile").properties().iterator())) {
            long numel = e.getKey().contains("mlp") ? 64L * 172 : e.getKey().contains("k_proj") || e.getKey().contains("v_proj")
                ? 64L * 32 : 64L * 64;
            bits += numel * e.getValue().asInt();
            params += numel;
        }
        assertTrue(bits <= 3 * params, "average bits " + (double) bits / params + " within the budget");
    }

    private static <T> Iterable<T> iterable(java.util.Iterator<T> it) {
        return () -> it;
    }

    @Test
    void badConfigurationsFailBeforeAnyWorkNamingTheSetting() throws Exception {
        String[][] cases = {
            {"search.stages=2@512,2@2048", "survivor"},
            {"search.stages=1@512,1@99999999", "tokens"},
            {"search.generatoins=3", "search.generatoins"},
            {"domain.target=1.5", "domain.target"},
            {"domain.tie=[qkv]", "domain.tie"},
            {"search.init=profile-file", "search.init-file"},
            {"search.candidates-per-task=many", "auto or a whole number of at least 1"},
            {"search.candidates-per-task=0", "auto or a whole number of at least 1"},
        };
        for (String[] c : cases) {
            MainTest.Run r = search(sparsity("bad", "--set", c[0]));
            assertEquals(1, r.status(), c[0] + ": " + r.err());
            assertTrue(r.err().toLowerCase().contains(c[1]), c[0] + " -> " + r.err());
        }
        MainTest.Run bits = search(args("evopress-bits-3.yaml", "stories260K", "bad", "--set", "domain.target=7",
            "--set", "database.path=" + tmp.resolve("db-bits-bad")));
        assertEquals(1, bits.status(), bits.err());
        assertTrue(bits.err().contains("outside what the database's levels can reach"), bits.err());
        MainTest.Run tie = search(args("evopress-bits-3.yaml", "stories260K", "bad", "--set", "domain.tie=[qkv, gate]",
            "--set", "database.path=" + tmp.resolve("db-bits-bad")));
        assertEquals(1, tie.status(), tie.err());
        assertTrue(tie.err().contains("'gate'") && tie.err().contains("domain.tie"), tie.err());
        // search.selection-check needs stage tokens outside the pool's windows: ~1,000 tokens of text hold none
        Path shortText = tmp.resolve("short.txt");
        Files.writeString(shortText, Files.readString(Fixtures.text("tinystories_train_head.txt")).substring(0, 4000));
        MainTest.Run small = search(sparsity("bad", "--set", "search.selection-check=true", "--set", "calibration.data=" + shortText,
            "--set", "database.path=" + tmp.resolve("db-check-bad")));
        assertEquals(1, small.status(), small.err());
        assertTrue(small.err().contains("Setting 'search.selection-check' scores selection stage 1 (1@512) a second time"),
            small.err());
        assertTrue(!Files.exists(tmp.resolve("bad")), "nothing written for a bad configuration");
    }

    /** The calibration of {@link #babyDatabase}: 4 x 64 tokens of the training text, one shard. */
    private static final String[] BABY_CALIBRATION = {"--set", "calibration.data=" + Fixtures.text("tinystories_train_head.txt"),
        "--set", "calibration.sequences=4", "--set", "calibration.seq-len=64", "--set", "calibration.shards=1"};

    /** babyllama105's 70% sparsity database (build-db-sparsity.yaml: levels -8..8), built once for the tests below. */
    static synchronized Path babyDatabase() {
        Path db = tmp.resolve("db-baby");
        if (!Files.exists(db.resolve("manifest.json"))) {
            List<String> a = new ArrayList<>(List.of("build-db", "--config", conf("build-db-sparsity.yaml").toString(),
                "--set", "model=" + Fixtures.model("babyllama105"), "--set", "output=" + db, "--json"));
            a.addAll(List.of(BABY_CALIBRATION));
            MainTest.Run build = MainTest.run(a.toArray(new String[0]));
            assertEquals(0, build.status(), build.err());
        }
        return db;
    }

    @Test
    void aDatabaseBuiltForAnotherModelIsRefused() throws Exception {
        MainTest.Run r = search(sparsity("other", "--set", "database.path=" + babyDatabase()));
        assertEquals(1, r.status(), r.err());
        assertTrue(r.err().contains("another model"), r.err());
    }

    /**
     * result.json's block forwards on conf/evopress-sparsity-70.yaml's fast preset (16 offspring, one survivor of
     * a first stage, the parent rejoining a second stage of 16x its tokens) on babyllama105, streamed with each
     * stage's candidates in one task: at most 0.9 of one forward per candidate, and within 3% of what the
     * mutation distribution predicts. The stages' tokens are the preset's / 32 (16 and 256, the pool of
     * {@link #babyDatabase}) so that enough generations fit the suite: the prediction is an expectation over
     * generations (one generation's sharing varies by about 9% of it) and the tokens' scale changes neither.
     * The full-size run (512 and 8192 tokens, 150 generations) is in README; that sharing finds the unshared
     * search's result is {@code SearchResidencyTest}'s.
     */
    @Test
    void sharedPrefixesRunThePredictedBlockForwards() throws Exception {
        int generations = 60;
        List<String> a = new ArrayList<>(List.of("search", "--config", conf("evopress-sparsity-70.yaml").toString(),
            "--set", "model=" + Fixtures.model("babyllama105"), "--set", "output=" + tmp.resolve("baby-forwards"),
            "--set", "database.path=" + babyDatabase(),
            "--set", "heldout.data=" + Fixtures.text("tinystories_sample.txt"), "--set", "heldout.seq-len=64",
            "--set", "heldout.max-tokens=256", "--set", "final.tokens=256", "--set", "baselines=[uniform]",
            "--set", "search.init=uniform", "--set", "search.stages=1@16,1@256", "--set", "search.initial-tokens=256",
            "--set", "search.generations=" + generations, "--set", "search.candidates-per-task=17",
            "--set", "evaluation.residency=streamed", "--json"));
        a.addAll(List.of(BABY_CALIBRATION));
        MainTest.Run r = search(a);
        assertEquals(0, r.status(), r.err());
        JsonNode t = result("baby-forwards").get("timing");
        double measured = t.get("block_forwards").asDouble();
        double naive = t.get("naive_block_forwards").asDouble();
        double predicted = t.get("predicted_block_forwards").asDouble();
        System.err.printf("block forwards: measured %.0f, predicted %.0f (%.4f), naive %.0f (%.4f of naive)%n", measured,
            predicted, measured / predicted, naive, measured / naive);
        // every score runs 5 blocks over its minibatch: the start on 256 tokens, each generation's 16 offspring on
        // 16 and its survivor and parent on 256, the result and the uniform baseline on 256
        assertEquals(1 + generations * 18L + 2, t.get("candidates_scored").asLong());
        assertEquals(5.0 * (256 + generations * (16 * 16 + 2 * 256) + 2 * 256), naive);
        assertTrue(measured <= 0.9 * naive, measured + " of " + naive + " naive");
        assertEquals(predicted, measured, 0.03 * predicted, "measured against predicted");
    }
}
