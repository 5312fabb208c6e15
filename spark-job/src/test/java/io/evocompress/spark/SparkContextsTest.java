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
    void evalsScratchIsItsOwnAndDeletedAndADeadRunsIsDeletedByTheNext() throws Exception {
        Path base = tmp.resolve("scratch");
        // a killed eval's (a process that has exited) and a running one's (a live child process)
        Process exited = new ProcessBuilder("true").start();
        exited.waitFor();
        Process live = new ProcessBuilder("sleep", "60").start();
        try {
            String host = RunScratch.host();
            Path killed = Files.createDirectories(base.resolve("eval-" + host + "-" + exited.pid()).resolve("blockmgr-x"));
            Files.writeString(killed.resolve("shuffle_0_0_0.data"), "x");
            Path running = Files.createDirectories(base.resolve("eval-" + host + "-" + live.pid()));
            Path own;
            try (RunScratch scratch = RunScratch.create("eval", base);
                 JavaSparkContext sc = SparkContexts.startIn("test", scratch.dir())) {
                own = scratch.dir();
                assertEquals(base.resolve("eval-" + host + "-" + ProcessHandle.current().pid()), own);
                assertEquals(own.toString(), sc.getConf().get("spark.local.dir"));
                assertFalse(Files.exists(killed.getParent()), "the exited process's scratch is deleted");
                assertTrue(Files.isDirectory(running), "a running process's scratch is kept");
                assertEquals(List.of(1, 2, 3), sc.parallelize(List.of(1, 2, 3), 2).collect());
                try (var dirs = Files.list(own)) {
                    assertTrue(dirs.anyMatch(d -> d.getFileName().toString().startsWith("blockmgr-")), "Spark's dirs are here");
                }
            }
            assertFalse(Files.exists(own), "closing deletes it with Spark's directories");
            assertTrue(Files.isDirectory(running));
        } finally {
            live.destroy();
        }
    }

    @Test
    void outputsOnOtherFileSystemsKeepSparksDefault() {
        assertNull(SparkContexts.scratch("hdfs://namenode:8020/runs/a"));
        assertNull(SparkContexts.scratch(null));
    }
}
