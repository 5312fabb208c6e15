package io.evocompress.cluster;

import io.evocompress.Fixtures;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What the cluster integration tests share: the project root, a real HDFS (MiniDFSCluster with one
 * data node), the real standalone Spark cluster of deploy/local-cluster (master and two workers as
 * separate JVMs), and running a deploy/ script as a subprocess.
 *
 * <p>Convention: a cluster IT class is annotated {@code @ExtendWith(ClusterFixture.Shared.class)} and
 * uses {@link #hdfs()}, {@link #master()} and its own HDFS folder {@link #hdfsDir(String)}. The HDFS and
 * the Spark cluster start once, for the first such class, and stop when the whole test run ends
 * (failsafe runs every IT class in one JVM): starting and stopping them per class cost about 15 s of
 * the suite each time. A class must leave the cluster as it found it (master and two workers up).
 */
final class ClusterFixture {
    static final File ROOT = new File(System.getProperty("evocompress.projectRoot", "..")).getAbsoluteFile();
    private static Running running;

    private ClusterFixture() {
    }

    /** The HDFS and the Spark master, while they run. */
    private record Running(MiniDFSCluster hdfs, String master) implements AutoCloseable {
        @Override
        public void close() throws java.io.IOException {
            synchronized (ClusterFixture.class) {
                running = null;
            }
            try {
                stop(hdfs);
            } catch (java.io.IOException | RuntimeException e) {
                throw e;
            } catch (Exception e) {
                throw new java.io.IOException("stopping the cluster: " + e, e);
            }
        }
    }

    /**
     * Starts the shared HDFS and Spark cluster before a class's {@code @BeforeAll} unless they run; JUnit
     * closes them, as a value of the root context's store, after the last test class.
     */
    static final class Shared implements BeforeAllCallback {
        @Override
        public void beforeAll(ExtensionContext context) throws Exception {
            synchronized (ClusterFixture.class) {
                if (running == null) {
                    MiniDFSCluster hdfs = startHdfs("it-hdfs");
                    try {
                        running = new Running(hdfs, startSpark());
                    } catch (Exception | AssertionError e) {
                        stop(hdfs);
                        throw e;
                    }
                    context.getRoot().getStore(ExtensionContext.Namespace.GLOBAL).put(ClusterFixture.class, running);
                }
            }
        }
    }

    /** The shared HDFS (see {@link Shared}). */
    static synchronized MiniDFSCluster hdfs() {
        if (running == null) {
            throw new IllegalStateException("annotate the test class with @ExtendWith(ClusterFixture.Shared.class)");
        }
        return running.hdfs();
    }

    /** The shared Spark cluster's master URL (see {@link Shared}). */
    static synchronized String master() {
        hdfs();
        return running.master();
    }

    /**
     * A test class's own folder on the shared HDFS, {@code /name}, emptied; returns its URI
     * (hdfs://host:port/name), the prefix for every location the class writes or reads there.
     */
    static String hdfsDir(String name) throws Exception {
        FileSystem fs = hdfs().getFileSystem();
        Path dir = new Path("/" + name);
        fs.delete(dir, true);
        fs.mkdirs(dir);
        return fs.makeQualified(dir).toString();
    }

    /** A running HDFS whose storage lives under spark-job/target/{@code name}. */
    static MiniDFSCluster startHdfs(String name) throws Exception {
        Fixtures.root();
        Configuration conf = new Configuration();
        conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, new File(ROOT, "spark-job/target/" + name).getAbsolutePath());
        MiniDFSCluster hdfs = new MiniDFSCluster.Builder(conf).numDataNodes(1).build();
        hdfs.waitActive();
        return hdfs;
    }

    /** Starts deploy/local-cluster with two workers; returns the master URL. */
    static String startSpark() throws Exception {
        String master = exec(List.of(new File(ROOT, "deploy/local-cluster").getPath(), "start", "2")).strip();
        assertTrue(master.startsWith("spark://"), master);
        return master;
    }

    /** Stops the Spark cluster, then the HDFS (either may be absent). */
    static void stop(MiniDFSCluster hdfs) throws Exception {
        try {
            exec(List.of(new File(ROOT, "deploy/local-cluster").getPath(), "stop"));
        } finally {
            if (hdfs != null) {
                hdfs.shutdown();
            }
        }
    }

    /** What a command printed: standard output and standard error. */
    record Result(String out, String err) {
    }

    /** Runs a command from the project root; fails with its output unless it exits 0 within 5 minutes. */
    static Result run(List<String> command) throws Exception {
        return start(command).await();
    }

    /**
     * Starts a command from the project root and returns at once: a test runs its local reference run
     * beside its cluster run this way, so that the second core is not idle while the cluster's
     * driver and executors start or wait on each other (on the 2-core CI machine).
     */
    static Background start(List<String> command) throws Exception {
        File out = Files.createTempFile("evocompress-it", ".out").toFile();
        File err = Files.createTempFile("evocompress-it", ".err").toFile();
        Process p = new ProcessBuilder(command).directory(ROOT).redirectOutput(out).redirectError(err).start();
        return new Background(command, p, out, err);
    }

    /** A command {@link #start}ed in the background. */
    record Background(List<String> command, Process process, File out, File err) {
        /** Waits for it; fails with its output unless it exits 0 within 5 minutes of this call. */
        Result await() throws Exception {
            boolean done = process.waitFor(5, TimeUnit.MINUTES);
            if (!done) {
                process.destroyForcibly().waitFor();
            }
            String stdout = Files.readString(out.toPath());
            String stderr = Files.readString(err.toPath());
            out.delete();
            err.delete();
            assertTrue(done && process.exitValue() == 0, command + " failed:\n" + stdout + "\n" + stderr);
            return new Result(stdout, stderr);
        }
    }

    /** What a command returned: exit status, standard output, standard error, seconds it took. */
    record Exit(int status, String out, String err, double seconds) {
    }

    /** Runs a command from the project root whatever its exit status; a command still running after the limit is killed. */
    static Exit launch(List<String> command, java.util.Map<String, String> env, int limitSeconds) throws Exception {
        File log = Files.createTempFile("evocompress-it", ".err").toFile();
        long start = System.nanoTime();
        ProcessBuilder pb = new ProcessBuilder(command).directory(ROOT).redirectError(log);
        pb.environment().putAll(env);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        boolean done = p.waitFor(limitSeconds, TimeUnit.SECONDS);
        if (!done) {
            p.destroyForcibly().waitFor();
        }
        String err = Files.readString(log.toPath());
        log.delete();
        return new Exit(done ? p.exitValue() : -1, out, err, (System.nanoTime() - start) / 1e9);
    }

    /** {@link #run}, keeping standard output. */
    static String exec(List<String> command) throws Exception {
        return run(command).out();
    }
}
