package io.evocompress.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.evocompress.Fixtures;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code search} on a real standalone cluster (deploy/local-cluster: master and two workers, separate
 * JVMs) through deploy/spark-submit, with model, calibration text, database and output on a real HDFS
 * (MiniDFSCluster), and under faults. Every run's result.json {@code result}, {@code baselines},
 * {@code dense} and {@code generations}, and its profile files, must equal those of one local-master
 * run on local files with the same seed, exactly (the evaluation is deterministic on any executor). The
 * cluster's executors run {@code evaluation.residency: streamed} with 4 candidates per task (blocks read
 * through the host cache, a task's candidates scored together sharing prefixes), the local reference
 * {@code resident} with one: the same numbers, bitwise.
 * <ol>
 *   <li>a plain cluster run, which also builds the database on HDFS;</li>
 *   <li>a run that loses both kinds of process: one executor JVM is killed with SIGKILL after a few
 *       generations (Spark reschedules its tasks, spark.task.maxFailures 4 in deploy/spark-submit, and
 *       the worker starts a new executor), then, two generations later, the driver JVM (the
 *       spark-submit process); rerun with --resume, it reuses the database and the checkpoint and ends
 *       with the uninterrupted result; no result file exists before that. (One run for both faults,
 *       rather than one each, to keep the suite's time.)</li>
 * </ol>
 * The two share the IT classes' HDFS and cluster ({@link ClusterFixture.Shared}), in folder /search.
 */
@ExtendWith(ClusterFixture.Shared.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SearchClusterIT {
    /** Deleted after the class when its tests pass; kept for a look when one fails. */
    @org.junit.jupiter.api.io.TempDir(cleanup = org.junit.jupiter.api.io.CleanupMode.ON_SUCCESS)
    static java.nio.file.Path tmp;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final File ROOT = ClusterFixture.ROOT;
    private static final File CLUSTER_HOME = new File(ROOT, "spark-job/target/local-cluster");
    private static final int GENERATIONS = 10;
    private static final List<String> PROFILE_FILES = List.of("profile.txt", "profiles/uniform.txt", "profiles/owl.txt");
    private static MiniDFSCluster hdfs;
    private static String hdfsRoot;
    private static String master;
    private static File dir;
    private static ClusterFixture.Background referenceRun;
    private static JsonNode reference;
    private static Map<String, String> referenceProfiles;

    @BeforeAll
    static void start() throws Exception {
        hdfs = ClusterFixture.hdfs();
        FileSystem fs = hdfs.getFileSystem();
        hdfsRoot = ClusterFixture.hdfsDir("search");
        fs.copyFromLocalFile(new Path(Fixtures.stories260k().toUri()), new Path(hdfsRoot + "/models/stories260K"));
        fs.copyFromLocalFile(new Path(Fixtures.text("tinystories_train_head.txt").toUri()), new Path(hdfsRoot + "/data/train.txt"));
        fs.copyFromLocalFile(new Path(Fixtures.text("tinystories_sample.txt").toUri()), new Path(hdfsRoot + "/data/heldout.txt"));
        dir = tmp.toFile();

        // the reference: the embedded default (local[1]) on local files, running beside the first cluster run
        File localConfig = write("local.yaml", config(Fixtures.stories260k().toString(),
            Fixtures.text("tinystories_train_head.txt").toString(), Fixtures.text("tinystories_sample.txt").toString(),
            new File(dir, "local-db").getPath(), new File(dir, "local").getPath()));
        referenceRun = ClusterFixture.start(List.of(new File(ROOT, "deploy/evocompress").getPath(), "search", "--config",
            localConfig.getPath(), "--json"));
        master = ClusterFixture.master();
    }

    @AfterAll
    static void stop() throws InterruptedException {
        referenceRun.process().destroyForcibly().waitFor();
    }

    /** Waits for the reference run (once) and reads its result.json and profile files. */
    private static void awaitReference() throws Exception {
        if (reference != null) {
            return;
        }
        referenceRun.await();
        File local = new File(dir, "local");
        JsonNode result = JSON.readTree(new File(local, "result.json"));
        referenceProfiles = new TreeMap<>();
        for (String name : PROFILE_FILES) {
            referenceProfiles.put(name, Files.readString(new File(local, name).toPath()));
        }
        assertEquals(GENERATIONS + 1, result.get("generations").size());
        reference = result;
    }

    /**
     * Small settings: 8 x 64 calibration tokens, levels -2..2, 10 generations of 4 offspring. The local
     * reference runs {@code resident}, one candidate per task; the cluster runs {@link #STREAMED}.
     */
    static String config(String model, String train, String heldout, String db, String output) {
        return config(model, train, heldout, db, output, "resident", 1);
    }

    /** The cluster runs' evaluation: executors stream the blocks and score a task's 4 candidates together. */
    static final String STREAMED = "streamed";

    static String config(String model, String train, String heldout, String db, String output, String residency,
                         int candidatesPerTask) {
        return "model: " + model + "\noutput: " + output + "\nevaluation:\n  residency: " + residency
            + "\ndomain:\n  kind: sparsity\n  target: 0.7"
            + "\ncalibration:\n  data: " + train + "\n  sequences: 8\n  seq-len: 64\n  shards: 2"
            + "\ndatabase:\n  path: " + db + "\n  max-level: 2"
            + "\nheldout:\n  data: " + heldout + "\n  seq-len: 64\n  max-tokens: 1024"
            + "\nsearch:\n  preset: fast\n  generations: " + GENERATIONS + "\n  offspring: 4\n  stages: 1@128,1@512"
            + "\n  initial-candidates: 4\n  initial-tokens: 256\n  seed: 3\n  candidates-per-task: " + candidatesPerTask
            + "\nfinal:\n  tokens: 512\nbaselines: [uniform, owl]\n";
    }

    /** A configuration with every location on HDFS, as URIs (executors open them as written). */
    private static File clusterConfig(String name) throws IOException {
        return write(name + ".yaml", config(hdfsRoot + "/models/stories260K", hdfsRoot + "/data/train.txt",
            hdfsRoot + "/data/heldout.txt", hdfsRoot + "/db", hdfsRoot + "/runs/" + name, STREAMED, 4));
    }

    private static List<String> submit(File config, String... extra) {
        List<String> command = new ArrayList<>(List.of(new File(ROOT, "deploy/spark-submit").getPath(), "--master", master,
            "--conf", "spark.executor.memory=1g", "--", "search", "--config", config.getPath(), "--json"));
        command.addAll(List.of(extra));
        return command;
    }

    @Test
    @Order(1)
    void clusterSearchOnHdfsEqualsTheLocalRun() throws Exception {
        ClusterFixture.Result r = run(submit(clusterConfig("plain")));
        assertTrue(r.err().contains("35 layers built, 0 reused"), "the first cluster run builds the database on HDFS\n" + r.err());
        assertSameResult("plain", false);
    }

    @Test
    @Order(2)
    void killedExecutorIsReplacedThenKilledDriverResumesToTheUninterruptedResult() throws Exception {
        File config = clusterConfig("kills");
        File log = new File(dir, "kills.err");
        Process driver = new ProcessBuilder(submit(config)).directory(ROOT).redirectErrorStream(true)
            .redirectOutput(log).start();
        int atExecutorKill;
        try {
            atExecutorKill = awaitGeneration("kills", 3, driver, log);
            ProcessHandle executor = executors().stream().max(Comparator.comparing(SearchClusterIT::appId))
                .orElseThrow(() -> new AssertionError("no executor process of " + CLUSTER_HOME + " found"));
            String app = appId(executor);
            assertTrue(executor.destroyForcibly(), "kill -9 " + executor.pid());
            assertTrue(atExecutorKill < GENERATIONS - 3, "executor killed at generation " + atExecutorKill + ", too late");
            // the standalone worker replaces the killed executor: the application runs on a third one
            awaitThirdExecutor(app, driver, log);
            // and the search goes on past the loss before its driver is killed in turn
            awaitGeneration("kills", atExecutorKill + 2, driver, log);
            String out = Files.readString(log.toPath());
            assertTrue(out.contains("Lost executor"), "Spark never noticed the killed executor:\n" + out);
            assertTrue(out.contains("database is complete and verifies: reusing it"), out);
        } finally {
            driver.destroyForcibly(); // SIGKILL to the spark-submit JVM, which is the driver
            driver.waitFor();
        }
        int atKill = generation("kills").orElseThrow();
        assertTrue(atKill > atExecutorKill && atKill < GENERATIONS, "checkpoint at generation " + atKill);
        FileSystem fs = hdfs.getFileSystem();
        assertFalse(fs.exists(new Path(hdfsRoot + "/runs/kills/result.json")), "result.json written before the search ended");
        assertFalse(fs.exists(new Path(hdfsRoot + "/runs/kills/profile.txt")), "profile.txt written before the search ended");

        ClusterFixture.Result resumed = run(submit(config, "--resume"));
        assertTrue(resumed.err().contains("database is complete and verifies: reusing it"), resumed.err());
        assertFalse(resumed.err().contains("generation " + atKill + "/"), "generation " + atKill + " ran again:\n" + resumed.err());
        assertTrue(resumed.err().contains("generation " + (atKill + 1) + "/" + GENERATIONS), resumed.err());
        assertSameResult("kills", true);
    }

    /** Waits (at most 2 minutes) until the worker has launched a third executor directory for {@code app}. */
    private static void awaitThirdExecutor(String app, Process driver, File log) throws Exception {
        File work = new File(CLUSTER_HOME, "work/" + app);
        long deadline = System.currentTimeMillis() + 120_000;
        while (System.currentTimeMillis() < deadline) {
            File[] launched = work.listFiles(File::isDirectory);
            if (launched != null && launched.length >= 3) {
                return;
            }
            if (!driver.isAlive()) {
                throw new AssertionError("the search ended before a replacement executor started:\n" + Files.readString(log.toPath()));
            }
            Thread.sleep(50);
        }
        throw new AssertionError("no replacement executor launched for " + app + " within 2 minutes:\n" + Files.readString(log.toPath()));
    }

    private static void assertSameResult(String name, boolean resumed) throws Exception {
        awaitReference();
        FileSystem fs = hdfs.getFileSystem();
        JsonNode got;
        try (FSDataInputStream in = fs.open(new Path(hdfsRoot + "/runs/" + name + "/result.json"))) {
            got = JSON.readTree(in);
        }
        for (String field : List.of("result", "baselines", "dense", "generations", "measured_on", "seed")) {
            if (field.equals("measured_on")) {
                assertEquals(reference.get(field).get("kl_calibration_tokens"), got.get(field).get("kl_calibration_tokens"));
                assertEquals(reference.get(field).get("heldout_tokens"), got.get(field).get("heldout_tokens"));
            } else {
                assertEquals(reference.get(field), got.get(field), name + ": result.json '" + field + "'");
            }
        }
        assertEquals(reference.get("database").get("id"), got.get("database").get("id"));
        assertStreamedAgainstResident(reference, got, resumed);
        for (String file : PROFILE_FILES) {
            try (FSDataInputStream in = fs.open(new Path(hdfsRoot + "/runs/" + name + "/" + file))) {
                assertEquals(referenceProfiles.get(file), new String(in.readAllBytes(), StandardCharsets.UTF_8), name + ": " + file);
            }
        }
    }

    /** The cluster run streamed and shared prefixes (fewer block forwards), the local reference did not. */
    static void assertStreamedAgainstResident(JsonNode reference, JsonNode cluster, boolean resumed) {
        assertEquals("resident", reference.at("/settings/evaluation/residency").asText());
        assertEquals(STREAMED, cluster.at("/settings/evaluation/residency").asText());
        JsonNode r = reference.get("timing");
        JsonNode c = cluster.get("timing");
        assertEquals(r.get("naive_block_forwards"), r.get("block_forwards"), "resident, one candidate per task: " + r);
        if (!resumed) {   // a resumed run counts the generations it ran itself
            assertEquals(r.get("naive_block_forwards"), c.get("naive_block_forwards"));
        }
        assertTrue(c.get("block_forwards").asLong() < c.get("naive_block_forwards").asLong(), "no prefix shared: " + c);
    }

    /** Waits until the run's checkpoint on HDFS reaches generation {@code at}; returns the generation seen. */
    private static int awaitGeneration(String name, int at, Process driver, File log) throws Exception {
        long deadline = System.currentTimeMillis() + 240_000;
        while (System.currentTimeMillis() < deadline) {
            Optional<Integer> g = generation(name);
            if (g.isPresent() && g.get() >= at) {
                return g.get();
            }
            if (!driver.isAlive()) {
                throw new AssertionError("the search ended before generation " + at + ":\n" + Files.readString(log.toPath()));
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no checkpoint of generation " + at + " within 4 minutes:\n" + Files.readString(log.toPath()));
    }

    /** The generation of the run's checkpoint (output/state/search-state.json), if one is readable now. */
    private static Optional<Integer> generation(String name) {
        for (String file : List.of("search-state.json", "search-state.json.prev")) {
            try (FSDataInputStream in = hdfs.getFileSystem().open(new Path(hdfsRoot + "/runs/" + name + "/state/" + file))) {
                return Optional.of(JSON.readTree(in).get("generation").asInt());
            } catch (IOException | RuntimeException e) {
                // not written yet, or between the checkpoint's renames: try the previous one
            }
        }
        return Optional.empty();
    }

    /** Live executor JVMs (CoarseGrainedExecutorBackend) of this project's local cluster, as {@code ps} shows them. */
    private static List<ProcessHandle> executors() {
        String home = CLUSTER_HOME.getPath();
        return ProcessHandle.allProcesses().filter(p -> {
            String cmd = cmdline(p);
            return cmd.contains("org.apache.spark.executor.CoarseGrainedExecutorBackend") && cmd.contains(home);
        }).toList();
    }

    private static String appId(ProcessHandle p) {
        Matcher m = Pattern.compile("--app-id\\s(\\S+)").matcher(cmdline(p));
        return m.find() ? m.group(1) : "";
    }

    private static String cmdline(ProcessHandle p) {
        try {
            byte[] raw = Files.readAllBytes(java.nio.file.Path.of("/proc/" + p.pid() + "/cmdline"));
            return new String(raw, StandardCharsets.UTF_8).replace('\0', ' ');
        } catch (IOException | RuntimeException e) {
            return "";
        }
    }

    private static File write(String name, String text) throws IOException {
        File f = new File(dir, name);
        Files.writeString(f.toPath(), text);
        return f;
    }

    private static ClusterFixture.Result run(List<String> command) throws Exception {
        return ClusterFixture.run(command);
    }
}
