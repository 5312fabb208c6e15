package io.evocompress.cluster;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.evocompress.Fixtures;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.File;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * build-db through deploy/spark-submit on a real standalone cluster (deploy/local-cluster: master and
 * two workers, separate JVMs), model, data and database on a real HDFS (MiniDFSCluster), writes a
 * database whose every file is byte-identical to the one the embedded default writes into local
 * files (the manifest too, but for the model and data locations it records as given). The cluster's
 * calibration pass runs {@code evaluation.residency: streamed} (block by block through the host
 * cache), the local one {@code resident}: the Hessians are the same bytes. HDFS folder
 * /build-db of {@link ClusterFixture.Shared}.
 */
@ExtendWith(ClusterFixture.Shared.class)
class BuildDbClusterIT {
    /** Deleted after the class when its tests pass; kept for a look when one fails. */
    @org.junit.jupiter.api.io.TempDir(cleanup = org.junit.jupiter.api.io.CleanupMode.ON_SUCCESS)
    static java.nio.file.Path tmp;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final File ROOT = ClusterFixture.ROOT;
    private static MiniDFSCluster hdfs;
    private static String master;
    private static String hdfsRoot;

    @BeforeAll
    static void start() throws Exception {
        hdfs = ClusterFixture.hdfs();
        FileSystem fs = hdfs.getFileSystem();
        hdfsRoot = ClusterFixture.hdfsDir("build-db");
        fs.copyFromLocalFile(new Path(Fixtures.stories260k().toUri()), new Path(hdfsRoot + "/models/stories260K"));
        fs.copyFromLocalFile(new Path(Fixtures.text("tinystories_train_head.txt").toUri()), new Path(hdfsRoot + "/data/train.txt"));
        master = ClusterFixture.master();
    }

    static String config(String model, String data, String output, String residency) {
        return "model: " + model + "\noutput: " + output + "\nevaluation:\n  residency: " + residency
            + "\ncalibration:\n  data: " + data
            + "\n  sequences: 6\n  seq-len: 64\n  shards: 3\ndatabase:\n  domain: sparsity\n  target: 0.7\n  max-level: 2\n";
    }

    @Test
    void clusterBuildIntoHdfsIsByteIdenticalToTheLocalBuild() throws Exception {
        File dir = tmp.toFile();
        File clusterConfig = new File(dir, "cluster.yaml");
        Files.writeString(clusterConfig.toPath(), config(hdfsRoot + "/models/stories260K", hdfsRoot + "/data/train.txt",
            hdfsRoot + "/db", "streamed"));
        File local = new File(dir, "local-db");
        File localConfig = new File(dir, "local.yaml");
        Files.writeString(localConfig.toPath(), config(Fixtures.stories260k().toString(),
            Fixtures.text("tinystories_train_head.txt").toString(), local.getPath(), "resident"));

        // the local build goes on beside the cluster build (ClusterFixture.start)
        ClusterFixture.Background localBuild = ClusterFixture.start(List.of(new File(ROOT, "deploy/evocompress").getPath(),
            "build-db", "--config", localConfig.getPath(), "--json"));
        try {
            exec(List.of(new File(ROOT, "deploy/spark-submit").getPath(), "--master", master,
                "--conf", "spark.executor.memory=1g", "--", "build-db", "--config", clusterConfig.getPath(), "--json"));
            localBuild.await();
        } finally {
            localBuild.process().destroyForcibly();
        }

        Map<String, byte[]> onHdfs = hdfsFiles(hdfs.getFileSystem(), new Path(hdfsRoot + "/db"));
        Map<String, byte[]> onDisk = localFiles(local.toPath());
        assertEquals(onDisk.keySet(), onHdfs.keySet());
        // 35 layers x (record + levels) + 20 Hessians + their index + the manifest
        assertEquals(35 + 165 + 20 + 1 + 1, onDisk.size());
        for (String name : onDisk.keySet()) {
            if (name.equals("manifest.json")) {
                ObjectNode a = (ObjectNode) JSON.readTree(onDisk.get(name));
                ObjectNode b = (ObjectNode) JSON.readTree(onHdfs.get(name));
                assertEquals(Fixtures.stories260k().toString(), a.get("model").get("location").asText());
                assertEquals(hdfsRoot + "/models/stories260K", b.get("model").get("location").asText());
                for (ObjectNode m : List.of(a, b)) {
                    ((ObjectNode) m.get("model")).remove("location");
                    ((ObjectNode) m.get("calibration")).remove("data");
                }
                assertEquals(a, b);
            } else {
                assertArrayEquals(onDisk.get(name), onHdfs.get(name), name);
            }
        }
    }

    static Map<String, byte[]> hdfsFiles(FileSystem fs, Path root) throws Exception {
        Map<String, byte[]> out = new TreeMap<>();
        String prefix = fs.makeQualified(root).toString() + "/";
        RemoteIterator<LocatedFileStatus> it = fs.listFiles(root, true);
        while (it.hasNext()) {
            LocatedFileStatus st = it.next();
            try (FSDataInputStream in = fs.open(st.getPath())) {
                out.put(st.getPath().toString().substring(prefix.length()), in.readAllBytes());
            }
        }
        return out;
    }

    static Map<String, byte[]> localFiles(java.nio.file.Path root) throws Exception {
        Map<String, byte[]> out = new TreeMap<>();
        try (Stream<java.nio.file.Path> walk = Files.walk(root)) {
            for (java.nio.file.Path p : walk.filter(Files::isRegularFile).toList()) {
                out.put(root.relativize(p).toString(), Files.readAllBytes(p));
            }
        }
        return out;
    }

    static String exec(List<String> command) throws Exception {
        return ClusterFixture.exec(command);
    }
}
