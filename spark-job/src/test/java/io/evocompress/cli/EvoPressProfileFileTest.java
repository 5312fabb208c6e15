package io.evocompress.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.evocompress.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * EvoPress profile files for depth: {@code search} writes one {@code none|attn|mlp|attn+mlp} line per
 * block, {@code export --profile-file} turns it into the same checkpoint as the result, and
 * {@code search.init: profile-file} starts a search from it.
 */
class EvoPressProfileFileTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path tmp;

    private static List<String> depthSearch(String output, String... extra) {
        List<String> a = new ArrayList<>(List.of("search", "--config", SearchCommandTest.conf("evopress-depth-25.yaml").toString(),
            "--set", "model=" + Fixtures.model("stories260K"), "--set", "output=" + tmp.resolve(output),
            "--set", "calibration.data=" + Fixtures.text("tinystories_train_head.txt"),
            "--set", "calibration.sequences=16", "--set", "calibration.seq-len=128",
            "--set", "heldout.data=" + Fixtures.text("tinystories_sample.txt"), "--set", "heldout.seq-len=128",
            "--set", "final.tokens=2048", "--set", "search.stages=2@512,1@2048", "--set", "search.offspring=4",
            "--set", "search.generations=3", "--set", "search.initial-tokens=512", "--set", "baselines=[]", "--json"));
        a.addAll(List.of(extra));
        return a;
    }

    @Test
    void depthProfileFileRoundTripsThroughExportAndStartsASearch() throws Exception {
        MainTest.Run s = MainTest.run(depthSearch("depth").toArray(new String[0]));
        assertEquals(0, s.status(), s.err());
        Path dir = tmp.resolve("depth");
        JsonNode r = JSON.readTree(dir.resolve("result.json").toFile());
        List<String> lines = Files.readAllLines(dir.resolve("evopress-profile.txt"));
        assertEquals(5, lines.size(), lines.toString());
        int attn = 0;
        int mlp = 0;
        for (int b = 0; b < 5; b++) {
            assertTrue(List.of("none", "attn", "mlp", "attn+mlp").contains(lines.get(b)), lines.toString());
            boolean a = r.at("/result/profile").get("model.layers." + b + ".self_attn").asInt() == 1;
            boolean m = r.at("/result/profile").get("model.layers." + b + ".mlp").asInt() == 1;
            assertEquals(a && m ? "attn+mlp" : a ? "attn" : m ? "mlp" : "none", lines.get(b), "block " + b);
            attn += a ? 1 : 0;
            mlp += m ? 1 : 0;
        }
        assertEquals(1, attn);
        assertEquals(1, mlp);

        Path fromResult = tmp.resolve("depth-model");
        Path fromFile = tmp.resolve("depth-model-file");
        assertEquals(0, MainTest.run("export", "--result", dir.toString(), "--out", fromResult.toString()).status());
        MainTest.Run e = MainTest.run("export", "--result", dir.toString(), "--out", fromFile.toString(),
            "--profile-file", dir.resolve("evopress-profile.txt").toString());
        assertEquals(0, e.status(), e.err());
        assertTrue(Arrays.equals(Files.readAllBytes(fromResult.resolve("model.safetensors")),
            Files.readAllBytes(fromFile.resolve("model.safetensors"))));
        assertEquals(Files.readString(fromResult.resolve("config.json")), Files.readString(fromFile.resolve("config.json")));

        Path bad = tmp.resolve("bad.txt");
        Files.writeString(bad, "none\nattn\nffn\nnone\nnone\n");
        MainTest.Run b = MainTest.run("export", "--result", dir.toString(), "--out", tmp.resolve("never").toString(),
            "--profile-file", bad.toString());
        assertEquals(1, b.status());
        assertTrue(b.err().contains("line 3") && b.err().contains("'ffn'"), b.err());

        // a search started from the file: its first parent is that profile, so the result is at least as good
        MainTest.Run s2 = MainTest.run(depthSearch("depth-init", "--set", "search.init=profile-file",
            "--set", "search.init-file=" + dir.resolve("evopress-profile.txt"), "--set", "search.generations=1").toArray(new String[0]));
        assertEquals(0, s2.status(), s2.err());
        assertTrue(s2.err().contains("init: profile file"), s2.err());
        MainTest.Run missing = MainTest.run(depthSearch("depth-bad", "--set", "search.init=profile-file").toArray(new String[0]));
        assertEquals(1, missing.status());
        assertTrue(missing.err().contains("search.init-file"), missing.err());
    }
}
