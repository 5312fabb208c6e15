package io.evocompress.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.evocompress.Fixtures;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code darwin} on a real standalone cluster (deploy/local-cluster: master and two workers, separate
 * JVMs, one task slot each) through deploy/spark-submit, with the model, text, structured database and
 * output on a real HDFS (MiniDFSCluster): every candidate of a stage fine-tunes in its own executor
 * task. Search, fine-tuning and post-training are deterministic, so the result, the uniform baseline
 * and the generations must equal one local-master run on local files exactly; the smaller model
 * written to HDFS must score the reported perplexity in {@code eval} on the cluster. HDFS folder /darwin
 * of {@link ClusterFixture.Shared}.
 */
@ExtendWith(ClusterFixture.Shared.class)
class DarwinClusterIT {
    /** Deleted after the class when its tests pass; kept for a look when one fails. */
    @org.junit.jupiter.api.io.TempDir(cleanup = org.junit.jupiter.api.io.CleanupMode.ON_SUCCESS)
    static java.nio.file.Path tmp;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final File ROOT = ClusterFixture.ROOT;
    private static MiniDFSCluster hdfs;
    private static String hdfsRoot;
    private static String master;
    private static File dir;

    @BeforeAll
    static void start() throws Exception {
        hdfs = ClusterFixture.hdfs();
        FileSystem fs = hdfs.getFileSystem();
        hdfsRoot = ClusterFixture.hdfsDir("darwin");
        fs.copyFromLocalFile(new Path(Fixtures.model("babyllama105").toUri()), new Path(hdfsRoot + "/models/babyllama105"));
        fs.copyFromLocalFile(new Path(Fixtures.text("tinystories_train_head.txt").toUri()), new Path(hdfsRoot + "/data/train.txt"));
        fs.copyFromLocalFile(new Path(Fixtures.text("tinystories_sample.txt").toUri()), new Path(hdfsRoot + "/data/heldout.txt"));
        dir = tmp.toFile();
        master = ClusterFixture.master();
    }

    /** conf/darwin-50.yaml at a test budget: 16 x 128 calibration tokens, 3 generations of 4, 25 post-training steps. */
    static String config(String model, String train, String heldout, String output) {
        return "model: " + model + "\noutput: " + output + "\ndevice: cpu"
            + "\ncalibration:\n  data: " + train + "\n  sequences: 16\n  seq-len: 128\n  shards: 2"
            + "\ndatabase:\n  target: 0.5\n  steps: 10"
            + "\nsearch:\n  generations: 3\n  offspring: 4\n  seed: 0\n  stages: \"2@512:1024,1@1024:2048\""
            + "\npost-training:\n  tokens: 12800\n  objective: lm\n  learning-rate: 1.0e-4\n  batch-size: 4\n  checkpoint-every: 10"
            + "\nheldout:\n  data: " + heldout + "\n  seq-len: 128\nfinal:\n  tokens: 2048\n";
    }

    @Test
    void darwinOnTheClusterWithHdfsMatchesTheLocalRun() throws Exception {
        File localOut = new File(dir, "local");
        File localConfig = write("local.yaml", config(Fixtures.model("babyllama105").toString(),
            Fixtures.text("tinystories_train_head.txt").toString(), Fixtures.text("tinystories_sample.txt").toString(),
            localOut.getPath()));
        // the local run goes on beside the cluster run (ClusterFixture.start)
        ClusterFixture.Background localRun = ClusterFixture.start(List.of(new File(ROOT, "deploy/evocompress").getPath(),
            "darwin", "--config", localConfig.getPath(), "--json"));

        File clusterConfig = write("cluster.yaml", config(hdfsRoot + "/models/babyllama105", hdfsRoot + "/data/train.txt",
            hdfsRoot + "/data/heldout.txt", hdfsRoot + "/runs/darwin"));
        try {
            ClusterFixture.exec(List.of(new File(ROOT, "deploy/spark-submit").getPath(), "--master", master,
                "--conf", "spark.executor.memory=1g", "--", "darwin", "--config", clusterConfig.getPath(), "--json"));
            localRun.await();
        } finally {
            localRun.process().destroyForcibly();
        }
        JsonNode local = JSON.readTree(new File(localOut, "result.json"));
        FileSystem fs = hdfs.getFileSystem();
        JsonNode cluster;
        try (FSDataInputStream in = fs.open(new Path(hdfsRoot + "/runs/darwin/result.json"))) {
            cluster = JSON.readTree(in);
        }
        assertTrue(fs.exists(new Path(hdfsRoot + "/runs/darwin/database/manifest.json")), "the structured database is on HDFS");
        assertTrue(fs.exists(new Path(hdfsRoot + "/runs/darwin/model-padded/model.safetensors")));

        for (String part : List.of("result", "baselines", "dense", "generations")) {
            assertEquals(local.get(part), cluster.get(part), part + ": cluster vs local");
        }
        JsonNode r = cluster.get("result");
        JsonNode cu = cluster.at("/baselines/uniform");
        assertTrue(r.get("kl_divergence").asDouble() < cu.get("kl_divergence").asDouble(), cluster.toString());
        assertEquals(cu.get("parameters").asLong(), r.get("parameters").asLong());
        assertEquals(0.5, r.get("removed_fraction_of_prunable").asDouble(), 0.02);

        String eval = ClusterFixture.exec(List.of(new File(ROOT, "deploy/spark-submit").getPath(), "--master", master,
            "--conf", "spark.executor.memory=1g", "--", "eval", "--model", hdfsRoot + "/runs/darwin/model",
            "--data", hdfsRoot + "/data/heldout.txt", "--seq-len", "128", "--json"));
        String[] lines = eval.strip().split("\n");
        double ppl = JSON.readTree(lines[lines.length - 1]).get("perplexity").asDouble();
        assertEquals(r.get("perplexity").asDouble(), ppl, 1e-4 * ppl);
    }

    private static File write(String name, String text) throws IOException {
        File f = new File(dir, name);
        Files.writeString(f.toPath(), text);
        return f;
    }
}
