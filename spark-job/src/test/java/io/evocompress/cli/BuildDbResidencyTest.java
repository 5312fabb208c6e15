package io.evocompress.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.evocompress.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code evaluation.residency: streamed} in build-db: the calibration pass with one block on the device at a
 * time writes the resident pass's Hessian files (the same SHA-256 each) and the same database.
 */
class BuildDbResidencyTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path tmp;

    static MainTest.Run build(String fixture, String output, String residency) {
        List<String> a = new ArrayList<>(List.of("build-db", "--config", SearchCommandTest.conf("build-db-sparsity.yaml").toString(),
            "--set", "model=" + Fixtures.model(fixture), "--set", "output=" + tmp.resolve(output),
            "--set", "calibration.data=" + Fixtures.text("tinystories_train_head.txt"),
            "--set", "calibration.sequences=8", "--set", "calibration.seq-len=64", "--set", "calibration.shards=2",
            "--set", "database.max-level=1", "--set", "evaluation.residency=" + residency, "--json"));
        return MainTest.run(a.toArray(new String[0]));
    }

    @ParameterizedTest
    @ValueSource(strings = {"stories260K", "tiny-phi3"})
    void streamedCalibrationWritesTheResidentHessians(String fixture) throws Exception {
        MainTest.Run resident = build(fixture, fixture + "-resident", "resident");
        assertEquals(0, resident.status(), resident.err());
        MainTest.Run streamed = build(fixture, fixture + "-streamed", "streamed");
        assertEquals(0, streamed.status(), streamed.err());
        JsonNode a = JSON.readTree(tmp.resolve(fixture + "-resident").resolve("hessians").resolve("hessians.json").toFile());
        JsonNode b = JSON.readTree(tmp.resolve(fixture + "-streamed").resolve("hessians").resolve("hessians.json").toFile());
        assertTrue(a.get("files").size() > 0);
        assertEquals(a.get("files"), b.get("files"), "every Hessian file's name, size and SHA-256");
        JsonNode ma = JSON.readTree(tmp.resolve(fixture + "-resident").resolve("manifest.json").toFile());
        JsonNode mb = JSON.readTree(tmp.resolve(fixture + "-streamed").resolve("manifest.json").toFile());
        assertTrue(ma.get("databaseId").isTextual());
        assertEquals(ma.get("databaseId"), mb.get("databaseId"));
    }

    @Test
    void aBadResidencyNamesTheSetting() {
        MainTest.Run r = build("stories260K", "bad", "disk");
        assertEquals(1, r.status());
        assertTrue(r.err().contains("Setting 'evaluation.residency'") && r.err().contains("auto, resident or streamed"),
            r.err());
        // search and schedule pass the setting on to their database's calibration pass
        for (String command : List.of("evopress-sparsity-70.yaml", "schedule-70.yaml")) {
            String verb = command.startsWith("schedule") ? "schedule" : "search";
            MainTest.Run s = MainTest.run(verb, "--config", SearchCommandTest.conf(command).toString(),
                "--set", "model=" + Fixtures.stories260k(), "--set", "output=" + tmp.resolve("bad-" + verb),
                "--set", "database.path=" + tmp.resolve("bad-db-" + verb),
                "--set", "calibration.data=" + Fixtures.text("tinystories_train_head.txt"),
                "--set", "heldout.data=" + Fixtures.text("tinystories_sample.txt"), "--set", "evaluation.device-memory=lots");
            assertEquals(1, s.status(), verb + ": " + s.err());
            assertTrue(s.err().contains("Setting 'evaluation.device-memory'") && s.err().contains("'lots'"), s.err());
        }
    }
}
