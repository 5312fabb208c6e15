package io.evocompress.spark;

import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.serializer.KryoSerializer;

/**
 * Starts the job's Spark context. Under spark-submit the master and settings come from there; run
 * directly, the embedded default is a local master with one task slot ({@code local[1]}): one machine
 * is one device, and the PyTorch engine already uses every core inside a task. Kryo serialization
 * with every shipped class registered ({@link EvocompressKryoRegistrator}) is always on.
 */
public final class SparkContexts {
    public static final String DEFAULT_MASTER = "local[1]";

    private SparkContexts() {
    }

    public static JavaSparkContext start(String appName) {
        return start(appName, null);
    }

    /**
     * As {@link #start(String)}; on the embedded local master, Spark's local directories
     * ({@code spark.local.dir}: its {@code blockmgr-*} and {@code spark-*} folders) go under the run's
     * own {@code output/.spark-scratch} when the output is a local directory (or under
     * {@code -Devocompress.scratch=DIR}), instead of /tmp. A killed run leaves them there, and the
     * next run on that output deletes them before it starts, since it owns them.
     */
    public static JavaSparkContext start(String appName, String output) {
        return startWith(appName, () -> scratch(output));
    }

    /**
     * As {@link #start(String)}, Spark's local directories on the embedded local master going into
     * {@code scratch}, a directory the command owns ({@link RunScratch}: {@code eval}, which has no output).
     */
    public static JavaSparkContext startIn(String appName, java.nio.file.Path scratch) {
        return startWith(appName, () -> scratch);
    }

    private static JavaSparkContext startWith(String appName, java.util.function.Supplier<java.nio.file.Path> scratchDir) {
        SparkConf conf = new SparkConf(true).setAppName("evocompress " + appName);
        if (!conf.contains("spark.master")) {
            conf.setMaster(DEFAULT_MASTER);
            java.nio.file.Path scratch = scratchDir.get();
            if (scratch != null && !conf.contains("spark.local.dir")) {
                conf.set("spark.local.dir", scratch.toString());
                // SparkConf warns that a cluster manager would override spark.local.dir: not on the local master
                org.apache.logging.log4j.core.config.Configurator.setLevel("org.apache.spark.SparkConf",
                    org.apache.logging.log4j.Level.ERROR);
            }
            conf.setIfMissing("spark.driver.host", "127.0.0.1");
            conf.setIfMissing("spark.driver.bindAddress", "127.0.0.1");
            conf.setIfMissing("spark.ui.enabled", "false");
        }
        conf.set("spark.serializer", KryoSerializer.class.getName());
        conf.setIfMissing("spark.kryo.registrator", EvocompressKryoRegistrator.class.getName());
        conf.setIfMissing("spark.kryo.registrationRequired", "true");
        JavaSparkContext sc = new JavaSparkContext(conf);
        sc.setLogLevel(conf.get("spark.evocompress.logLevel", "WARN"));
        if (sc.isLocal()) {
            // A failed task's exception reaches the driver, whose Main prints its message; in one process
            // the executor's own log of it would be a second, 200-line copy with the stack trace.
            org.apache.logging.log4j.core.config.Configurator.setLevel("org.apache.spark.executor.Executor",
                org.apache.logging.log4j.Level.OFF);
            org.apache.logging.log4j.core.config.Configurator.setLevel("org.apache.spark.scheduler.TaskSetManager",
                org.apache.logging.log4j.Level.OFF);
        }
        return sc;
    }

    /** The scratch directory for this run (emptied of a killed run's leftovers), or null for Spark's default. */
    static java.nio.file.Path scratch(String output) {
        String configured = System.getProperty("evocompress.scratch");
        java.nio.file.Path dir;
        if (configured != null) {
            dir = java.nio.file.Path.of(configured).toAbsolutePath().resolve(SCRATCH);
        } else if (output != null && isLocal(output)) {
            dir = java.nio.file.Path.of(io.evocompress.fs.HadoopFiles.path(output).toUri().getPath()).resolve(SCRATCH);
        } else {
            return null;
        }
        try {
            if (java.nio.file.Files.exists(dir)) {
                try (var walk = java.nio.file.Files.walk(dir)) {
                    for (java.nio.file.Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                        java.nio.file.Files.deleteIfExists(p);
                    }
                }
            }
            java.nio.file.Files.createDirectories(dir);
            return dir;
        } catch (java.io.IOException e) {
            throw new io.evocompress.EvocompressException("Cannot prepare Spark's scratch directory " + dir + ": " + e.getMessage()
                + " (set -Devocompress.scratch=DIR to put it elsewhere)", e);
        }
    }

    /** The folder, under the output, that holds Spark's local directories. */
    public static final String SCRATCH = ".spark-scratch";

    private static boolean isLocal(String location) {
        String scheme = io.evocompress.fs.HadoopFiles.path(location).toUri().getScheme();
        return scheme == null || scheme.equals("file");
    }
}
