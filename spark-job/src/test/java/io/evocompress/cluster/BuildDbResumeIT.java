package io.evocompress.cluster;

import io.evocompress.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A real kill: deploy/evocompress build-db is killed with SIGKILL once some but not all layer
 * records exist; the rerun resumes, and every file of the result has the bytes of an uninterrupted
 * build. It needs no cluster, so it runs beside the cluster ITs (the failsafe configuration in pom.xml).
 */
@Execution(ExecutionMode.CONCURRENT)
class BuildDbResumeIT {
    /** Deleted after the class when its tests pass; kept for a look when one fails. */
    @org.junit.jupiter.api.io.TempDir(cleanup = org.junit.jupiter.api.io.CleanupMode.ON_SUCCESS)
    static java.nio.file.Path tmp;
    private static final File ROOT = ClusterFixture.ROOT;

    @Test
    void killedBuildResumesToTheUninterruptedBytes() throws Exception {
        Fixtures.root();
        Path dir = tmp;
        Path killed = dir.resolve("killed");
        Path whole = dir.resolve("whole");
        Path killedConfig = dir.resolve("killed.yaml");
        Path wholeConfig = dir.resolve("whole.yaml");
        String model = Fixtures.stories260k().toString();
        String data = Fixtures.text("tinystories_train_head.txt").toString();
        Files.writeString(killedConfig, BuildDbClusterIT.config(model, data, killed.toString(), "auto"));
        Files.writeString(wholeConfig, BuildDbClusterIT.config(model, data, whole.toString(), "auto"));
        String launcher = new File(ROOT, "deploy/evocompress").getPath();

        Process p = new ProcessBuilder(launcher, "build-db", "--config", killedConfig.toString())
            .directory(ROOT).redirectErrorStream(true).redirectOutput(dir.resolve("killed.log").toFile()).start();
        long records = 0;
        long deadline = System.currentTimeMillis() + 240_000;
        while (p.isAlive() && System.currentTimeMillis() < deadline) {
            records = records(killed);
            if (records >= 1) {
                break;
            }
            Thread.sleep(10);
        }
        p.destroyForcibly(); // SIGKILL: no shutdown hooks, no clean-up
        p.waitFor();
        long left = records(killed);
        assertTrue(left >= 1 && left < 35, "expected some but not all of 35 layer records at the kill, found " + left
            + "\n" + Files.readString(dir.resolve("killed.log")));
        assertFalse(Files.exists(killed.resolve("manifest.json")));

        String resumed = BuildDbClusterIT.exec(List.of(launcher, "build-db", "--config", killedConfig.toString(), "--json"));
        assertTrue(resumed.contains("\"layers_reused\":" + left), resumed);
        BuildDbClusterIT.exec(List.of(launcher, "build-db", "--config", wholeConfig.toString()));

        Map<String, byte[]> a = BuildDbClusterIT.localFiles(killed);
        Map<String, byte[]> b = BuildDbClusterIT.localFiles(whole);
        assertEquals(b.keySet(), a.keySet());
        for (String name : b.keySet()) {
            if (!name.equals("manifest.json")) {
                assertArrayEquals(b.get(name), a.get(name), name);
            }
        }
        // the manifests differ only in the output-independent fields: they record no output location
        assertEquals(new String(b.get("manifest.json")), new String(a.get("manifest.json")));
    }

    private static long records(Path db) throws Exception {
        if (!Files.isDirectory(db)) {
            return 0;
        }
        try (Stream<Path> walk = Files.walk(db, 2)) {
            return walk.filter(p -> p.getFileName().toString().equals("layer.json")).count();
        }
    }
}
