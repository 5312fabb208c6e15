package io.evocompress.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.evocompress.Fixtures;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.File;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * eval through deploy/spark-submit on a real standalone Spark cluster (deploy/local-cluster: a master
 * and two workers, separate JVMs) reading the model from a real HDFS (MiniDFSCluster) gives the same
 * numbers as the embedded default on local files, with the executors holding the model resident or
 * streaming it block by block. HDFS folder /eval of {@link ClusterFixture.Shared}.
 */
@ExtendWith(ClusterFixture.Shared.class)
class ClusterEvalIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final File ROOT = ClusterFixture.ROOT;
    private static String hdfsRoot;
    private static String master;

    @BeforeAll
    static void start() throws Exception {
        MiniDFSCluster hdfs = ClusterFixture.hdfs();
        FileSystem fs = hdfs.getFileSystem();
        hdfsRoot = ClusterFixture.hdfsDir("eval");
        fs.copyFromLocalFile(new Path(Fixtures.stories260k().toUri()), new Path(hdfsRoot + "/models/stories260K"));
        fs.copyFromLocalFile(new Path(Fixtures.text("tinystories_sample.txt").toUri()), new Path(hdfsRoot + "/data/sample.txt"));
        master = ClusterFixture.master();
    }

    @Test
    void evalOnTheClusterFromHdfsEqualsTheLocalRunOnLocalFiles() throws Exception {
        List<String> cluster = new ArrayList<>(List.of(new File(ROOT, "deploy/spark-submit").getPath(),
            "--master", master, "--conf", "spark.executor.memory=1g", "--",
            "eval", "--model", hdfsRoot + "/models/stories260K", "--data", hdfsRoot + "/data/sample.txt",
            "--seq-len", "64", "--partitions", "2", "--json"));
        // the local run goes on beside the cluster run (ClusterFixture.start)
        ClusterFixture.Background localRun = ClusterFixture.start(List.of(new File(ROOT, "deploy/evocompress").getPath(), "eval",
            "--model", Fixtures.stories260k().toString(), "--data", Fixtures.text("tinystories_sample.txt").toString(),
            "--seq-len", "64", "--json"));
        JsonNode onCluster;
        JsonNode local;
        try {
            onCluster = lastJson(exec(cluster));
            local = lastJson(localRun.await().out());
        } finally {
            localRun.process().destroyForcibly();
        }
        assertEquals(local.get("tokens").asLong(), onCluster.get("tokens").asLong());
        assertEquals(local.get("nll_per_token").asDouble(), onCluster.get("nll_per_token").asDouble(), 1e-9);
        assertTrue(onCluster.get("perplexity").asDouble() < 20, onCluster.toString());
        // executors streaming the model block by block from HDFS: the resident numbers, bit for bit
        List<String> streamed = new ArrayList<>(cluster);
        streamed.addAll(streamed.size() - 1, List.of("--residency", "streamed"));
        JsonNode onClusterStreamed = lastJson(exec(streamed));
        assertEquals("streamed", onClusterStreamed.get("residency").asText());
        assertEquals(onCluster.get("tokens").asLong(), onClusterStreamed.get("tokens").asLong());
        assertEquals(onCluster.get("nll_per_token").asDouble(), onClusterStreamed.get("nll_per_token").asDouble(), 0.0);
    }

    private static JsonNode lastJson(String out) throws IOException {
        String[] lines = out.strip().split("\n");
        return JSON.readTree(lines[lines.length - 1]);
    }

    /** Runs a command from the project root; fails with its output unless it exits 0 within 3 minutes. */
    private static String exec(List<String> command) throws Exception {
        return ClusterFixture.exec(command);
    }
}
