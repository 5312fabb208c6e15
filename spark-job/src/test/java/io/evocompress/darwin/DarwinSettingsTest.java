package io.evocompress.darwin;

import io.evocompress.EvocompressException;
import io.evocompress.Fixtures;
import io.evocompress.config.JobConfig;
import io.evocompress.fs.HadoopFiles;
import io.evocompress.search.SelectionStage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The darwin settings: the defaults are ALGORITHMS.md section 5's, and bad settings fail before any work, naming the key. */
class DarwinSettingsTest {
    @TempDir
    Path dir;

    private DarwinSettings settings(String... sets) throws Exception {
        Path file = dir.resolve("darwin.yaml");
        Files.writeString(file, "model: " + Fixtures.model("stories260K") + "\noutput: " + dir.resolve("out") + "\n"
            + "calibration:\n  data: " + Fixtures.text("tinystories_train_head.txt") + "\n  sequences: 64\n  seq-len: 256\n"
            + "heldout:\n  data: " + Fixtures.text("tinystories_sample.txt") + "\n");
        return DarwinSettings.from(JobConfig.load(file.toString(), List.of(sets), HadoopFiles.defaultConf()));
    }

    private String failure(String... sets) {
        return assertThrows(EvocompressException.class, () -> settings(sets)).getMessage();
    }

    @Test
    void defaultsAreThePapersStageTableAndLearningRate() throws Exception {
        DarwinSettings s = settings();
        assertEquals(List.of(new SelectionStage(8, 1024), new SelectionStage(4, 2048), new SelectionStage(2, 4096),
            new SelectionStage(1, 8192)), s.stages());
        assertArrayEquals(new long[] {10_000, 50_000, 100_000, 200_000}, s.trainingTokens());
        assertEquals(1e-5, s.learningRate(), 0);
        assertEquals(16, s.offspring());
        assertEquals(200, s.generations());
        assertEquals(0.5, s.target(), 0);
        assertEquals(10, s.steps());
        assertEquals(50_000, s.trainingTokensFor(2048));
        assertEquals(0, s.trainingTokensFor(999), "the initial genome's scoring trains nothing");
        assertEquals("lm", s.postObjective());
        assertEquals("kl", s.fitness(), "the paper's fitness: KL to the dense model");
        assertEquals(0, s.fitnessIndex());
        assertEquals(1, settings("search.fitness=nll").fitnessIndex(), "nll reads the task's second figure");
        assertEquals(1, s.finalCandidates(), "the search's winner alone is post-trained");
    }

    @Test
    void theExampleConfigurationLoadsAsWritten() throws Exception {
        Path example = Path.of(System.getProperty("user.dir")).getParent().resolve("conf/darwin-50.yaml");
        List<String> sets = new ArrayList<>(List.of("model=" + Fixtures.model("stories260K"), "output=" + dir.resolve("o"),
            "calibration.data=" + Fixtures.text("tinystories_train_head.txt"), "heldout.data=" + Fixtures.text("tinystories_sample.txt")));
        DarwinSettings s = DarwinSettings.from(JobConfig.load(example.toString(), sets, HadoopFiles.defaultConf()));
        assertEquals(3, s.stages().size());
        assertEquals(1, s.stages().get(2).survivors());
        assertEquals(8192, s.trainingTokensFor(2048));
        assertEquals(16384, s.heldoutTailTokens());
        assertEquals(4, s.finalCandidates());
    }

    @Test
    void badSettingsFailBeforeAnyWorkNamingTheSetting() {
        fails(List.of("search.stages=8@1024:10000,2@2048:5000"), "search.stages", "exactly 1 survivor");
        fails(List.of("search.stages=2@1024:100,4@2048:100,1@4096:100"), "search.stages", "non-increasing");
        fails(List.of("search.stages=8@1024:10000,1@2048", "search.offspring=16"), "search.stages",
            "survivors@fitnessTokens:trainingTokens");
        fails(List.of("search.offspring=4"), "search.stages", "4 offspring");
        fails(List.of("search.stages=1@999999:100"), "search.stages", "999999");
        fails(List.of("search.stages=2@1024:100,1@1024:100"), "two stages score 1024");
        fails(List.of("search.learning-rate=-1e-5"), "search.learning-rate");
        fails(List.of("post-training.learning-rate=0"), "post-training.learning-rate");
        fails(List.of("post-training.tokens=-5"), "post-training.tokens");
        fails(List.of("post-training.objective=mse"), "post-training.objective");
        fails(List.of("search.fitness=ppl"), "search.fitness");
        fails(List.of("final.heldout-tokens=5"), "final.heldout-tokens", "calibration.seq-len");
        fails(List.of("final.tokens=1000000"), "final.tokens", "16384");
        fails(List.of("final.candidates=3", "final.validation-tokens=0"), "final.candidates", "final.validation-tokens is 0");
        fails(List.of("final.candidates=0"), "final.candidates", "at least 1");
        fails(List.of("database.target=1.5"), "target");
        fails(List.of("search.generatoins=3"), "search.generatoins");
    }

    /** The settings fail with a message that mentions every one of {@code mentions}. */
    private void fails(List<String> sets, String... mentions) {
        String m = failure(sets.toArray(new String[0]));
        for (String part : mentions) {
            assertTrue(m.contains(part), "'" + part + "' missing from: " + m);
        }
    }

    @Test
    void settingsThatMultiplyWorkAreBoundedNamingTheLimit() {
        for (String[] c : new String[][] {{"search.generations=1000000", "at most 100000"},
            {"search.offspring=50000", "at most 10000"}, {"database.steps=5000", "at most 100"},
            {"final.candidates=17", "at most 16"}}) {
            String m = failure(c[0]);
            String key = c[0].substring(0, c[0].indexOf('='));
            assertTrue(m.contains("Setting '" + key + "'") && m.contains(c[1]) && m.contains("darwin.yaml"), m);
        }
    }
}
