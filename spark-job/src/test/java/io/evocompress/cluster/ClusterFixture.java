package io.evocompress.cluster;

import io.evocompress.Fixtures;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hdfs.MiniDFSCluster;

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
 */
final class ClusterFixture {
    static final File ROOT = new File(System.getProperty("evocompress.projectRoot", "..")).getAbsoluteFile();

    private ClusterFixture() {
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
        File log = Files.createTempFile("evocompress-it", ".err").toFile();
        Process p = new ProcessBuilder(command).directory(ROOT).redirectError(log).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        boolean done = p.waitFor(5, TimeUnit.MINUTES);
        String err = Files.readString(log.toPath());
        log.delete();
        assertTrue(done && p.exitValue() == 0, command + " failed:\n" + out + "\n" + err);
        return new Result(out, err);
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
