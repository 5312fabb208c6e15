package io.evocompress.spark;

import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Spark's local directories live under the run's output, and a rerun deletes what a killed run left. */
class SparkContextsTest {
    @TempDir
    Path tmp;

    @Test
    void localDirsGoUnderTheOutputAndAKilledRunsLeftoversAreDeleted() throws Exception {
        Path out = tmp.resolve("run");
        Path leftover = Files.createDirectories(out.resolve(SparkContexts.SCRATCH).resolve("blockmgr-killed"));
        Files.writeString(leftover.resolve("shuffle_0_0_0.data"), "x");
        try (JavaSparkContext sc = SparkContexts.start("test", out.toString())) {
            assertEquals(out.resolve(SparkContexts.SCRATCH).toString(), sc.getConf().get("spark.local.dir"));
            assertFalse(Files.exists(leftover), "the killed run's block manager directory is deleted");
            assertEquals(List.of(1, 2, 3), sc.parallelize(List.of(1, 2, 3), 2).collect());
            try (var dirs = Files.list(out.resolve(SparkContexts.SCRATCH))) {
                assertTrue(dirs.anyMatch(d -> d.getFileName().toString().startsWith("blockmgr-")), "Spark's dirs are here");
            }
        }
    }

    @Test
    void outputsOnOtherFileSystemsKeepSparksDefault() {
        assertNull(SparkContexts.scratch("hdfs://namenode:8020/runs/a"));
        assertNull(SparkContexts.scratch(null));
    }
}
