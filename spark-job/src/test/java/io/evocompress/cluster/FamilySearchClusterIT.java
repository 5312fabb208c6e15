package io.evocompress.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.evocompress.Fixtures;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.File;
import java.nio.file.Files;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code search} on a family other than Llama, Phi-3 (fused {@code qkv_proj} and {@code gate_up_proj},
 * whose parts are the search's units, an untied head), through deploy/spark-submit on the two-worker
 * standalone cluster with model, data, database and output on MiniDFSCluster HDFS: its result.json
 * (result, baselines, dense, generations) and database id must equal one local-master run on local
 * files, exactly. Same small settings as {@link SearchClusterIT}, its cluster run streamed (4 candidates
 * per task) against the resident local run. HDFS folder /family-search of
 * {@link ClusterFixture.Shared}.
 */
@ExtendWith(ClusterFixture.Shared.class)
class FamilySearchClusterIT {
    /** Deleted after the class when its tests pass; kept for a look when one fails. */
    @org.junit.jupiter.api.io.TempDir(cleanup = org.junit.jupiter.api.io.CleanupMode.ON_SUCCESS)
    static java.nio.file.Path tmp;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String FIXTURE = "tiny-phi3";
    private static File dir;

    @Test
    void phi3SearchOnTheClusterWithHdfsEqualsTheLocalRun() throws Exception {
        java.nio.file.Path model = Fixtures.model(FIXTURE);
        MiniDFSCluster hdfs = ClusterFixture.hdfs();
        String master = ClusterFixture.master();
        dir = tmp.toFile();
        FileSystem fs = hdfs.getFileSystem();
        String root = ClusterFixture.hdfsDir("family-search");
        fs.copyFromLocalFile(new Path(model.toUri()), new Path(root + "/models/" + FIXTURE));
        fs.copyFromLocalFile(new Path(Fixtures.text("tinystories_train_head.txt").toUri()), new Path(root + "/data/train.txt"));
        fs.copyFromLocalFile(new Path(Fixtures.text("tinystories_sample.txt").toUri()), new Path(root + "/data/heldout.txt"));

        File local = new File(dir, "local");
        File localConfig = write("local.yaml", SearchClusterIT.config(model.toString(),
            Fixtures.text("tinystories_train_head.txt").toString(), Fixtures.text("tinystories_sample.txt").toString(),
            new File(dir, "local-db").getPath(), local.getPath()));
        // the local run goes on beside the cluster run (ClusterFixture.start)
        ClusterFixture.Background localRun = ClusterFixture.start(List.of(new File(ClusterFixture.ROOT, "deploy/evocompress")
            .getPath(), "search", "--config", localConfig.getPath(), "--json"));

        File clusterConfig = write("cluster.yaml", SearchClusterIT.config(root + "/models/" + FIXTURE, root + "/data/train.txt",
            root + "/data/heldout.txt", root + "/db", root + "/runs/cluster", SearchClusterIT.STREAMED, 4));
        ClusterFixture.Result r;
        try {
            r = ClusterFixture.run(List.of(new File(ClusterFixture.ROOT, "deploy/spark-submit").getPath(), "--master", master,
                "--conf", "spark.executor.memory=1g", "--", "search", "--config", clusterConfig.getPath(), "--json"));
            localRun.await();
        } finally {
            localRun.process().destroyForcibly();
        }
        JsonNode reference = JSON.readTree(new File(local, "result.json"));
        assertTrue(r.err().contains("28 layers built, 0 reused"), "the cluster run builds the Phi-3 database on HDFS\n" + r.err());
        JsonNode got;
        try (FSDataInputStream in = fs.open(new Path(root + "/runs/cluster/result.json"))) {
            got = JSON.readTree(in);
        }
        assertTrue(reference.at("/result/profile").has("model.layers.0.self_attn.qkv_proj.q"),
            "the fused layer's parts are the units: " + reference.at("/result/profile"));
        for (String field : List.of("result", "baselines", "dense", "generations")) {
            assertEquals(reference.get(field), got.get(field), FIXTURE + ": result.json '" + field + "'");
        }
        assertEquals(reference.get("database").get("id"), got.get("database").get("id"));
        SearchClusterIT.assertStreamedAgainstResident(reference, got, false);
    }

    private static File write(String name, String text) throws Exception {
        File f = new File(dir, name);
        Files.writeString(f.toPath(), text);
        return f;
    }
}
