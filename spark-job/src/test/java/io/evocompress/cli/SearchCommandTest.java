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
        }
    }
}
